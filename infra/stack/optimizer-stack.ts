/**
 * The deployable optimizer: five functions, the state machine that runs them, the secret that
 * holds the Genesys OAuth client, the bucket that keeps each run's inventory, plan and report,
 * and what running it on AWS takes: the schedule, the audit bus, logs, saved queries, the
 * dashboard and alarms. Each of those is a small construct of its own (infra/*.ts), wired here.
 */
import { relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { ApplicationLogLevel, Architecture, LoggingFormat, Runtime, SystemLogLevel } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { SERVICE_NAME } from '../../functions/shared/logger.ts';
import { METRICS_NAMESPACE } from '../../functions/shared/metrics.ts';
import { CHART_JS_FILE, chartJsPackageFile } from '../../functions/report-html/chart-library.ts';
import { OptimizerAlarms } from './alarms.ts';
import { ApprovalMachine } from './approval.ts';
import { NotificationTopic, RunCompletedNotification, type NotificationFormat } from './notifications.ts';
import { MAX_APPROVAL_TIMEOUT_HOURS, parseExecutionInput } from '../../functions/domain/execution-input.ts';
import { AuditBus } from './audit-bus.ts';
import { acknowledgeNagFindings } from './nag.ts';
import { DEFAULT_LOG_RETENTION_DAYS, type FunctionName, OptimizerDashboard, RunLogs, SavedQueries } from './observability.ts';
import { grantRunStore } from './run-store-grants.ts';
import { DEFAULT_SCHEDULE_EXPRESSION, DEFAULT_SCHEDULE_TIMEZONE, OptimizerSchedule } from './schedule.ts';
import { buildDefinition, type OptimizerFunctions } from './state-machine.ts';
import { FleetMachine, fleetLogGroup } from './fleet.ts';
import { fleetOrgs, parseFleetInput, planFleet, type OrgSetting } from '../../functions/domain/fleet.ts';
import { orgNamesEnvValue, orgSecretName } from '../../functions/domain/orgs.ts';
import { retentionFromDays } from './observability.ts';
import { LogGroup } from 'aws-cdk-lib/aws-logs';

export interface OptimizerStackProps extends StackProps {
  /** Name of the Secrets Manager secret created for the Genesys OAuth client. */
  secretName?: string | undefined;
  /** Genesys Cloud region (domain or AWS-style name) used when the secret names none. */
  genesysRegion?: string | undefined;
  /** Days a run's inventory, plan and report are kept. Default 90. */
  runRetentionDays?: number | undefined;
  /** Days the functions' and the state machine's logs (and the audit event archive) are kept. Default 90. */
  logRetentionDays?: number | undefined;
  /** EventBridge Scheduler expression of the scheduled run. Default `cron(0 3 ? * SUN *)` (Sundays 03:00). */
  scheduleExpression?: string | undefined;
  /** IANA time zone of the schedule expression. Default `UTC`. */
  scheduleTimezone?: string | undefined;
  /** Execution input of scheduled runs. Default `{}` (a real run with the default policy). */
  scheduleInput?: Record<string, unknown> | undefined;
  /** Whether the schedule starts runs. Default false: an operator turns it on knowingly. */
  scheduleEnabled?: boolean | undefined;
  /** What the schedule starts: the fleet (the default with orgs; its input is a fleet input) or the optimizer (the default without; with orgs its input names one org). */
  scheduleTarget?: 'optimizer' | 'fleet' | undefined;
  /** An e-mail address subscribed to the notification topic (alarms, plans to approve, run notifications). Default none. */
  alarmEmail?: string | undefined;
  /** How messages to people are written: `text` (e-mail, the default) or `chat` (Amazon Q Developer / AWS Chatbot custom notifications). */
  notificationFormat?: NotificationFormat | undefined;
  /** Per-request timeout of Genesys calls (GENESYS_TIMEOUT_MS). Default: the client's. */
  genesysTimeoutMs?: number | undefined;
  /** The index endpoints' path (GENESYS_INDEXES_PATH), should Genesys' differ from the seed's. */
  genesysIndexesPath?: string | undefined;
  /** The latency probe's path (GENESYS_ANALYTICS_QUERY_PATH). */
  genesysAnalyticsQueryPath?: string | undefined;
  /**
   * A fleet: several orgs from this deployment. Each gets its secret (`<secretName>/<name>`), runs
   * name their org, and the `<stackName>-Fleet` state machine rolls runs out wave by wave.
   * Default none: one org, the one secret.
   */
  orgs?: OrgSetting[] | undefined;
}

/** What the org names (GENESYS_ORGS) may take of a function's 4 KB of environment variables. */
export const MAX_ORG_NAMES_BYTES = 3_400;

const root = fileURLToPath(new URL('../..', import.meta.url));
const handlerPath = (name: string) => `${root}functions/handlers/${name}.ts`;

/**
 * The report function inlines Chart.js into each run's page (functions/report-html): its UMD file
 * goes into the bundle beside index.mjs, where the function reads it. The hook runs where esbuild
 * does (locally, or in CDK's bundling container, whose input directory is the project root too).
 */
const CHART_LIBRARY_HOOKS = {
  beforeBundling: () => [],
  beforeInstall: () => [],
  afterBundling: (inputDir: string, outputDir: string) => [`cp "${inputDir}/${relative(root, chartJsPackageFile()).split(sep).join('/')}" "${outputDir}/${CHART_JS_FILE}"`],
};
const cap = (name: string) => `${name[0]!.toUpperCase()}${name.slice(1)}`;

export class OptimizerStack extends Stack {
  readonly functions: OptimizerFunctions & Record<FunctionName, NodejsFunction>;
  readonly stateMachine: StateMachine;
  readonly stateMachineName: string;
  /** What the run guard (validate) may read: the state machine and its executions, by formatted ARN. */
  readonly runGuardArns: { stateMachine: string; executions: string };
  readonly secret: Secret;
  readonly runBucket: Bucket;
  readonly auditBus: AuditBus;
  readonly pacerTable: Table;
  readonly logs: RunLogs;
  readonly schedule: OptimizerSchedule;
  readonly queries: SavedQueries;
  readonly alarms: OptimizerAlarms;
  readonly notifications: NotificationTopic;
  readonly runCompleted: RunCompletedNotification;
  readonly approval: ApprovalMachine;
  readonly dashboard: OptimizerDashboard;
  /** Each org's secret, by name (a deployment with orgs). */
  readonly orgSecrets: Map<string, Secret> = new Map();
  /** The fleet (a deployment with orgs): its state machine and function. */
  readonly fleet: { machine: FleetMachine; fn: NodejsFunction } | undefined;

  constructor(scope: Construct, id: string, props: OptimizerStackProps = {}) {
    super(scope, id, props);
    // Without it CDK silently drops the Distributed Map's resultWriterV2 from the definition, and AWS
    // would gather every child's output into the Map's result, bounded by 256 KiB. Set here, not in
    // cdk.json, so that every app that builds this stack (tests, the local runner) gets the same definition.
    this.node.setContext(cxapi.STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2, true);
    const logRetentionDays = props.logRetentionDays ?? DEFAULT_LOG_RETENTION_DAYS;

    const secretName = props.secretName ?? 'genesys-index-optimizer/oauth-client';
    this.secret = new Secret(this, 'GenesysClientSecret', {
      secretName,
      description: 'Genesys Cloud OAuth client (client credentials): {"clientId","clientSecret","region"?}',
    });
    // A fleet's orgs: a secret each, named after the org. Where the setting says where the org's
    // Genesys is, the secret starts with it (and a placeholder client to replace): put-secret-value
    // with {"clientId","clientSecret"} and the same hosts.
    for (const org of props.orgs ?? []) {
      const hosts = { ...(org.region ? { region: org.region } : {}), ...(org.apiUrl ? { apiUrl: org.apiUrl, loginUrl: org.loginUrl } : {}) };
      this.orgSecrets.set(
        org.name,
        new Secret(this, `OrgSecret-${org.name}`, {
          secretName: orgSecretName(secretName, org.name),
          description: `Genesys Cloud OAuth client of org ${org.name}: {"clientId","clientSecret","region"?}`,
          ...(Object.keys(hosts).length ? { generateSecretString: { secretStringTemplate: JSON.stringify({ clientId: '', ...hosts }), generateStringKey: 'clientSecret' } } : {}),
        }),
      );
    }

    this.runBucket = new Bucket(this, 'RunBucket', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      lifecycleRules: [{ expiration: Duration.days(props.runRetentionDays ?? 90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.auditBus = new AuditBus(this, 'AuditBus', { archiveRetentionDays: logRetentionDays });

    // The API budget's shared clock: one small item per OAuth client, the next free call slot.
    this.pacerTable = new Table(this, 'PacerTable', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // A fixed name, so that the validate function's policy and environment can name the state
    // machine without referring to it (the state machine refers to the function: a cycle otherwise).
    this.stateMachineName = `${this.stackName}-Optimizer`;
    const stateMachineArn = this.formatArn({ service: 'states', resource: 'stateMachine', resourceName: this.stateMachineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const executionsArn = this.formatArn({ service: 'states', resource: 'execution', resourceName: `${this.stateMachineName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    this.runGuardArns = { stateMachine: stateMachineArn, executions: executionsArn };

    this.logs = new RunLogs(this, 'Logs', { retentionDays: logRetentionDays, stateMachineName: this.stateMachineName, approvalStateMachineName: `${this.stackName}-Approval` });
    this.notifications = new NotificationTopic(this, 'Notifications', { email: props.alarmEmail });
    const notificationFormat = props.notificationFormat ?? 'text';

    // Each function gets only the settings it reads.
    const genesys: Record<string, string> = { GENESYS_SECRET_ID: this.secret.secretArn };
    // A fleet's runs read their org's secret, <secretName>/<org> (names are short slugs: within Lambda's 4 KB of variables).
    if (props.orgs) genesys['GENESYS_SECRET_PREFIX'] = secretName;
    const orgNames: Record<string, string> = props.orgs ? { GENESYS_ORGS: orgNamesEnvValue(props.orgs.map((o) => o.name)) } : {};
    // Lambda allows 4 KB of environment variables per function; the names must leave room for the rest.
    if ((orgNames['GENESYS_ORGS']?.length ?? 0) > MAX_ORG_NAMES_BYTES) {
      throw new Error(`orgs: the ${props.orgs!.length} org names take ${orgNames['GENESYS_ORGS']!.length} bytes of the validate function's environment, more than ${MAX_ORG_NAMES_BYTES} (Lambda allows 4 KB of variables in all): use shorter names, or split the orgs across two deployments`);
    }
    if (props.genesysRegion) genesys['GENESYS_REGION'] = props.genesysRegion;
    if (props.genesysTimeoutMs) genesys['GENESYS_TIMEOUT_MS'] = String(props.genesysTimeoutMs);
    if (props.genesysIndexesPath) genesys['GENESYS_INDEXES_PATH'] = props.genesysIndexesPath;
    if (props.genesysAnalyticsQueryPath) genesys['GENESYS_ANALYTICS_QUERY_PATH'] = props.genesysAnalyticsQueryPath;
    const runStore = { RUN_BUCKET: this.runBucket.bucketName };
    const audit = { AUDIT_BUS_NAME: this.auditBus.bus.eventBusName };
    const pacer = { PACER_TABLE: this.pacerTable.tableName };
    const environment: Record<FunctionName, Record<string, string>> = {
      fetch: { ...genesys, ...runStore, ...pacer },
      validate: { ...runStore, ...orgNames, RUN_GUARD: 'stepfunctions', STATE_MACHINE_ARN: stateMachineArn },
      optimize: { ...genesys, ...runStore, ...audit, ...pacer },
      verify: { ...genesys, ...runStore, ...audit, ...pacer },
      report: { ...runStore, ...audit },
      approval: { ...runStore, ...audit, NOTIFICATION_TOPIC_ARN: this.notifications.topic.topicArn, NOTIFICATION_FORMAT: notificationFormat },
    };

    const fn = (name: FunctionName | 'fleet', description: string, timeout: Duration, logGroup = this.logs.functions[name as FunctionName], env = environment[name as FunctionName]) => {
      // An explicit role: the default one carries the AWSLambdaBasicExecutionRole managed policy
      // (logs:CreateLogGroup/CreateLogStream/PutLogEvents on every log group). This one may write
      // to its own log group only, which exists before the function does.
      const role = new Role(this, `${cap(name)}Role`, {
        assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
        description: `The ${name} function of ${this.stackName}`,
      });
      logGroup.grantWrite(role);
      return new NodejsFunction(this, `${cap(name)}Function`, {
        entry: handlerPath(name),
        handler: 'handler',
        description,
        runtime: Runtime.NODEJS_24_X,
        architecture: Architecture.ARM_64,
        memorySize: 256,
        timeout,
        role,
        environment: {
          ...env,
          POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
          POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
          NODE_OPTIONS: '--enable-source-maps',
        },
        logGroup,
        // Powertools writes its JSON lines (and EMF metrics) straight to stdout, so JSON format does
        // not wrap them again; it turns the runtime's own lines (START/REPORT, uncaught errors, stray
        // console output) into JSON too, and sets AWS_LAMBDA_LOG_LEVEL, which Powertools follows.
        loggingFormat: LoggingFormat.JSON,
        applicationLogLevelV2: ApplicationLogLevel.INFO,
        systemLogLevelV2: SystemLogLevel.INFO,
        projectRoot: root,
        depsLockFilePath: `${root}package-lock.json`,
        bundling: {
          format: OutputFormat.ESM,
          target: 'node24',
          minify: true,
          sourceMap: true,
          // The Lambda runtime ships the AWS SDK v3.
          externalModules: ['@aws-sdk/*'],
          mainFields: ['module', 'main'],
          banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
          ...(name === 'report' ? { commandHooks: CHART_LIBRARY_HOOKS } : {}),
        },
      });
    };

    this.functions = {
      fetch: fn('fetch', 'Lists the Genesys org index inventory into the run bucket', Duration.minutes(5)),
      validate: fn('validate', 'Checks the execution input and applies the capacity policy', Duration.minutes(2)),
      optimize: fn('optimize', 'PUTs the optimization directives for one index', Duration.seconds(60)),
      verify: fn('verify', 'Reads one index health, or probes query latency', Duration.seconds(60)),
      report: fn('report', 'Builds, stores and logs the run report and its page (report.html)', Duration.minutes(2)),
      approval: fn('approval', 'Keeps the task token of a plan awaiting approval and tells the operator', Duration.seconds(30)),
    };

    // Least privilege. The functions that call Genesys read the secret's value; not grantRead,
    // which adds secretsmanager:DescribeSecret that nothing here needs.
    for (const name of ['fetch', 'optimize', 'verify'] as const) {
      this.functions[name].addToRolePolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [this.secret.secretArn] }));
      // Every org's secret: by name prefix, since a hundred secrets' ARNs would outgrow a role's inline policies (10,240 characters).
      if (props.orgs) {
        const orgSecrets = this.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: orgSecretName(secretName, '*'), arnFormat: ArnFormat.COLON_RESOURCE_NAME });
        this.functions[name].addToRolePolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [orgSecrets] }));
      }
    }
    // Each function gets, puts and lists only what the run store's layout says it does.
    grantRunStore(this.runBucket, this.functions);
    // The run guard: validate lists this state machine's RUNNING executions and reads their input
    // (a dry run never blocks), so that only one real run optimizes at a time.
    this.functions.validate.addToRolePolicy(new PolicyStatement({ actions: ['states:ListExecutions'], resources: [stateMachineArn] }));
    this.functions.validate.addToRolePolicy(new PolicyStatement({ actions: ['states:DescribeExecution'], resources: [executionsArn] }));
    // The pacer: every function that calls Genesys reserves its call slots (read, then a conditional write).
    for (const name of ['fetch', 'optimize', 'verify'] as const) {
      this.functions[name].addToRolePolicy(new PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:PutItem'], resources: [this.pacerTable.tableArn] }));
    }
    // The org's refresh memory, beside the clock: optimize reads it (GetItem, above) to time the
    // first health read; verify raises it (one conditional update) when a refresh outlasted that.
    this.functions.verify.addToRolePolicy(new PolicyStatement({ actions: ['dynamodb:UpdateItem'], resources: [this.pacerTable.tableArn] }));
    // Audit events: the steps that act on indexes and the report.
    for (const name of ['optimize', 'verify', 'report', 'approval'] as const) this.auditBus.grantPut(this.functions[name]);
    // The plan awaiting approval goes to the people on the notification topic: SNS encrypts it with
    // the topic's key on the publisher's behalf (a data key, and decrypting it). Not grantPublish,
    // whose kms:GenerateDataKey* also allows what SNS never asks for.
    this.functions.approval.addToRolePolicy(new PolicyStatement({ actions: ['sns:Publish'], resources: [this.notifications.topic.topicArn] }));
    this.functions.approval.addToRolePolicy(new PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [this.notifications.key.keyArn] }));

    this.approval = new ApprovalMachine(this, 'Approval', {
      approvalFunction: this.functions.approval,
      stateMachineName: `${this.stackName}-Approval`,
      logGroup: this.logs.approvalStateMachine,
    });

    this.stateMachine = new StateMachine(this, 'OptimizerStateMachine', {
      stateMachineName: this.stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(buildDefinition(this, this.functions, this.runBucket, this.approval.stateMachine)),
      // Twelve hours of work, after the longest a plan may wait for approval.
      timeout: Duration.hours(12 + MAX_APPROVAL_TIMEOUT_HOURS),
      tracingEnabled: true,
      // Every state's input and output is logged. The state never carries a secret: the functions
      // read the Genesys credentials from Secrets Manager themselves and never return them (nor a
      // token); the state holds ids, settings, statuses and reasons only.
      logs: { destination: this.logs.stateMachine, level: LogLevel.ALL, includeExecutionData: true },
    });

    this.queries = new SavedQueries(this, 'Queries', this.logs.functions);
    this.alarms = new OptimizerAlarms(this, 'Alarms', { stateMachine: this.stateMachine, topic: this.notifications, orgs: props.orgs?.map((o) => o.name) });
    this.runCompleted = new RunCompletedNotification(this, 'RunCompleted', { bus: this.auditBus.bus, topic: this.notifications, format: notificationFormat });
    this.dashboard = new OptimizerDashboard(this, 'Dashboard', { stateMachine: this.stateMachine, functions: this.functions, alarms: this.alarms.alarms, orgAlarms: this.alarms.byOrg });

    if (props.orgs) {
      const fleetName = `${this.stackName}-Fleet`;
      const fleetFn = fn('fleet', 'Plans the fleet waves, reads each org run report, writes the fleet report', Duration.minutes(2), new LogGroup(this, 'FleetLogs', { retention: retentionFromDays(logRetentionDays), removalPolicy: RemovalPolicy.RETAIN }), runStore);
      grantRunStore(this.runBucket, { fleet: fleetFn });
      const machine = new FleetMachine(this, 'Fleet', {
        orgs: fleetOrgs(props.orgs),
        fleetFunction: fleetFn,
        optimizer: this.stateMachine,
        stateMachineName: fleetName,
        logGroup: fleetLogGroup(this, fleetName, retentionFromDays(logRetentionDays)),
        topic: this.notifications.topic,
        orgRunTimeout: Duration.hours(12 + MAX_APPROVAL_TIMEOUT_HOURS),
      });
      this.fleet = { machine, fn: fleetFn };
      this.dashboard.addFleet({ stateMachine: machine.stateMachine, alarm: machine.stoppedAlarm });
      new CfnOutput(this, 'FleetStateMachineArn', { value: machine.stateMachine.stateMachineArn });
    }

    // A deployment with several orgs runs them as a fleet unless told otherwise.
    const scheduleTarget = props.scheduleTarget ?? (this.fleet ? 'fleet' : 'optimizer');
    if (scheduleTarget === 'fleet' && !this.fleet) throw new Error('scheduleTarget: fleet needs the orgs setting (a deployment with several orgs)');
    const orgSettings = props.orgs ? fleetOrgs(props.orgs) : null;
    const scheduled = scheduleTarget === 'fleet' ? this.fleet!.machine.stateMachine : this.stateMachine;
    this.schedule = new OptimizerSchedule(this, 'Schedule', {
      stateMachine: scheduled,
      expression: props.scheduleExpression ?? DEFAULT_SCHEDULE_EXPRESSION,
      timezone: props.scheduleTimezone ?? DEFAULT_SCHEDULE_TIMEZONE,
      input: props.scheduleInput ?? {},
      // Checked as the state machine it starts will check it, so a typo fails the deploy, not a run a week later.
      check: (input) => (scheduleTarget === 'fleet' ? planFleet(orgSettings!, parseFleetInput(input, orgSettings!)) : parseExecutionInput(input, orgSettings?.map((o) => o.name) ?? null)),
      starts: scheduleTarget,
      enabled: props.scheduleEnabled ?? false,
    });

    new CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachineArn });
    new CfnOutput(this, 'SecretArn', { value: this.secret.secretArn });
    new CfnOutput(this, 'RunBucketName', { value: this.runBucket.bucketName });
    new CfnOutput(this, 'AuditBusName', { value: this.auditBus.bus.eventBusName });
    new CfnOutput(this, 'AuditBusArn', { value: this.auditBus.bus.eventBusArn });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.notifications.topic.topicArn });
    new CfnOutput(this, 'ApprovalStateMachineArn', { value: this.approval.stateMachine.stateMachineArn });
    new CfnOutput(this, 'ScheduleName', { value: this.schedule.schedule.scheduleName });
    new CfnOutput(this, 'DashboardName', { value: this.dashboard.dashboard.dashboardName });

    acknowledgeNagFindings(this);
  }
}

