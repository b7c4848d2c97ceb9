/**
 * The deployable optimizer: five functions, the state machine that runs them, the secret that
 * holds the Genesys OAuth client, and the bucket that keeps each run's inventory, plan and report.
 */
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { DefinitionBody, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { buildDefinition, type OptimizerFunctions } from './state-machine.ts';

export interface OptimizerStackProps extends StackProps {
  /** Name of the Secrets Manager secret created for the Genesys OAuth client. */
  secretName?: string;
  /** Genesys Cloud region (domain or AWS-style name) used when the secret names none. */
  genesysRegion?: string;
  /** Days a run's inventory, plan and report are kept. */
  runRetentionDays?: number;
}

const root = fileURLToPath(new URL('..', import.meta.url));
const handlerPath = (name: string) => `${root}functions/handlers/${name}.ts`;

export class OptimizerStack extends Stack {
  readonly functions: OptimizerFunctions;
  readonly stateMachine: StateMachine;
  readonly secret: Secret;
  readonly runBucket: Bucket;

  constructor(scope: Construct, id: string, props: OptimizerStackProps = {}) {
    super(scope, id, props);

    this.secret = new Secret(this, 'GenesysClientSecret', {
      secretName: props.secretName ?? 'genesys-index-optimizer/oauth-client',
      description: 'Genesys Cloud OAuth client (client credentials): {"clientId","clientSecret","region"?}',
    });

    this.runBucket = new Bucket(this, 'RunBucket', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      lifecycleRules: [{ expiration: Duration.days(props.runRetentionDays ?? 90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const environment: Record<string, string> = {
      GENESYS_SECRET_ID: this.secret.secretArn,
      RUN_BUCKET: this.runBucket.bucketName,
      POWERTOOLS_SERVICE_NAME: 'genesys-index-optimizer',
      NODE_OPTIONS: '--enable-source-maps',
    };
    if (props.genesysRegion) environment['GENESYS_REGION'] = props.genesysRegion;

    const fn = (name: keyof OptimizerFunctions, description: string, timeout: Duration) =>
      new NodejsFunction(this, `${name[0]!.toUpperCase()}${name.slice(1)}Function`, {
        entry: handlerPath(name),
        handler: 'handler',
        description,
        runtime: Runtime.NODEJS_24_X,
        architecture: Architecture.ARM_64,
        memorySize: 256,
        timeout,
        environment,
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
        },
      });

    this.functions = {
      fetch: fn('fetch', 'Lists the Genesys org index inventory into the run bucket', Duration.minutes(5)),
      validate: fn('validate', 'Checks the execution input and applies the capacity policy', Duration.minutes(2)),
      optimize: fn('optimize', 'PUTs the optimization directives for one index', Duration.seconds(60)),
      verify: fn('verify', 'Reads one index health, or probes query latency', Duration.seconds(60)),
      report: fn('report', 'Builds, stores and logs the run report', Duration.minutes(2)),
    };

    // Least privilege: only the functions that call Genesys read the secret; each touches only the run objects it needs.
    for (const f of [this.functions.fetch, this.functions.optimize, this.functions.verify]) this.secret.grantRead(f);
    this.runBucket.grantPut(this.functions.fetch, 'runs/*');
    this.runBucket.grantRead(this.functions.fetch, 'runs/*');
    this.runBucket.grantRead(this.functions.validate, 'runs/*');
    this.runBucket.grantPut(this.functions.validate, 'runs/*');
    this.runBucket.grantRead(this.functions.report, 'runs/*');
    this.runBucket.grantPut(this.functions.report, 'runs/*');

    this.stateMachine = new StateMachine(this, 'OptimizerStateMachine', {
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(buildDefinition(this, this.functions)),
      timeout: Duration.hours(12),
      tracingEnabled: true,
    });

    new CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachineArn });
    new CfnOutput(this, 'SecretArn', { value: this.secret.secretArn });
    new CfnOutput(this, 'RunBucketName', { value: this.runBucket.bucketName });
  }
}
