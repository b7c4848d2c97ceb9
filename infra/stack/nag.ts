/**
 * cdk-nag (AwsSolutions pack): how the checks are run, and every finding this stack accepts,
 * each with the reason a reviewer needs. cdk-nag 3.x reads acknowledgements from
 * `Validations.of(construct).acknowledge({ id, reason })`; a finding on an IAM policy is
 * acknowledged per wildcard resource (`AwsSolutions-IAM5[Resource::<flattened ARN>]`), so a new
 * wildcard added later is reported rather than silently covered.
 */
import { type App, ArnFormat, Aspects, Stack, Validations } from 'aws-cdk-lib';
import { Policy, type Role } from 'aws-cdk-lib/aws-iam';
import type { CfnSecret } from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { FUNCTION_NAMES } from './observability.ts';
import type { OptimizerStack } from './optimizer-stack.ts';
import { orgSecretName } from '../../functions/domain/orgs.ts';
import { RUN_OBJECT, RUN_STORE_ACCESS, type StoreUser } from '../../functions/store/run-layout.ts';
import { anyRun } from './run-store-grants.ts';

/** Runs the AwsSolutions checks when the app synthesizes: a finding not acknowledged here fails the synth. */
export function applyNagChecks(app: App, options: { verbose?: boolean } = {}): AwsSolutionsChecks {
  const checks = new AwsSolutionsChecks(app, { verbose: options.verbose ?? true });
  Validations.of(app).addPlugins(checks);
  return checks;
}

/** A CloudFormation value as cdk-nag prints it in a finding id (mirrors cdk-nag's flattenCfnReference). */
export function flattenCfn(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  const o = node as Record<string, unknown>;
  if (o['Fn::Join']) {
    const [sep, items] = o['Fn::Join'] as [string, unknown[]];
    return items.map(flattenCfn).join(sep);
  }
  if (o['Fn::Sub']) return flattenCfn(o['Fn::Sub']);
  if (o['Fn::GetAtt']) {
    const [res, attr] = o['Fn::GetAtt'] as [unknown, unknown];
    return `<${flattenCfn(res)}.${flattenCfn(attr)}>`;
  }
  if (o['Fn::ImportValue']) return flattenCfn(o['Fn::ImportValue']);
  if (o['Ref']) return `<${flattenCfn(o['Ref'])}>`;
  return JSON.stringify(node);
}

interface WildcardRule {
  /** Every action of the statement must be one of these. */
  actions: string[];
  /** The flattened resource must match. */
  resource: RegExp | string;
  reason: string;
}

/**
 * Acknowledges AwsSolutions-IAM5 for the wildcard resources of `policy` that a rule explains: the
 * resource matches the rule and every statement naming it grants only the rule's actions (a
 * finding is per resource, so one unexplained statement keeps it open). Any other wildcard stays a finding.
 */
function acknowledgeWildcards(policy: Policy, rules: WildcardRule[]): void {
  const doc = Stack.of(policy).resolve(policy.document) as { Statement?: Array<{ Effect: string; Action: string | string[]; Resource: unknown }> };
  const actionsByResource = new Map<string, string[][]>();
  for (const s of doc.Statement ?? []) {
    if (s.Effect !== 'Allow') continue;
    for (const r of ([] as unknown[]).concat(s.Resource)) {
      const flat = flattenCfn(r);
      if (flat.includes('*')) actionsByResource.set(flat, [...(actionsByResource.get(flat) ?? []), ([] as string[]).concat(s.Action)]);
    }
  }
  for (const [flat, statements] of actionsByResource) {
    const matches = (x: WildcardRule) => (typeof x.resource === 'string' ? x.resource === flat : x.resource.test(flat));
    const explained = statements.map((actions) => rules.find((x) => matches(x) && actions.every((a) => x.actions.includes(a))));
    if (explained.every(Boolean)) Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[Resource::${flat}]`, reason: explained[0]!.reason });
  }
}

const esc = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const defaultPolicy = (role: Role | IConstruct): Policy => {
  const p = role.node.tryFindChild('DefaultPolicy');
  if (!(p instanceof Policy)) throw new Error(`${role.node.path} has no default policy`);
  return p;
};

/** Why a Genesys OAuth client's secret has no Secrets Manager rotation (the stack's, and each org's in a fleet). */
const GENESYS_SECRET_ROTATION =
  'The secret holds a Genesys Cloud OAuth client secret, which only Genesys Cloud can issue: it is rotated in Genesys Cloud admin ' +
  '(OAuth > client > regenerate) and then put into this secret. A Secrets Manager rotation Lambda could not create a new Genesys ' +
  'client secret. The functions cache the secret for 5 minutes and re-read it after a 401, so a rotation takes effect on the next call.';

export function acknowledgeNagFindings(stack: OptimizerStack): void {
  Validations.of(stack.secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: GENESYS_SECRET_ROTATION });
  // A fleet: each org's secret holds that org's own OAuth client, rotated in that org's Genesys Cloud admin.
  for (const secret of stack.orgSecrets.values()) Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: GENESYS_SECRET_ROTATION });

  Validations.of(stack.runBucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason:
      "The run bucket holds only the optimizer's own intermediate JSON (inventory, plan, per-index outcomes, report; no credentials), " +
      'expires it after runRetentionDays, blocks public access and denies non-TLS requests. Only the five function roles can reach it, ' +
      'each for its own object kinds, and every read and write belongs to an execution whose function logs record it. Account-wide CloudTrail ' +
      'S3 data events are the place for object-level audit where policy requires it; a separate access-log bucket would itself need S1.',
  });

  // The IAM wildcards are read from the finished policies, at synth: a statement added to a policy
  // after the stack's constructor (by a later change or another construct) is judged too.
  let judged = false;
  Aspects.of(stack).add({
    visit: (node) => {
      if (node !== stack || judged) return;
      judged = true;
      acknowledgeIamWildcards(stack);
    },
  });
}

function acknowledgeIamWildcards(stack: OptimizerStack): void {
  const flat = (value: string) => flattenCfn(stack.resolve(value));
  const bucketArn = `<${stack.getLogicalId(stack.runBucket.node.defaultChild as never)}.Arn>`;
  const runObjectReason =
    'Run objects are keyed runs/<state machine>/<execution name>/<object>, and per index runs/.../outcomes/<outcome>/<index id>.json: ' +
    'the wildcards are the run (execution) segment and the index id, only known at run time. The object kind is fixed, and each ' +
    'function gets only the kinds it reads or writes (functions/store/run-layout.ts RUN_STORE_ACCESS).';
  const runObjectRules = (name: StoreUser): WildcardRule[] => {
    const keys = (list: string[]) => new RegExp(`^(${list.map((k) => esc(`${bucketArn}/${anyRun(k)}`)).join('|')})$`);
    const { get, put } = RUN_STORE_ACCESS[name];
    return [
      ...(get.length ? [{ actions: ['s3:GetObject'], resource: keys(get), reason: runObjectReason }] : []),
      ...(put.length ? [{ actions: ['s3:PutObject'], resource: keys(put), reason: runObjectReason }] : []),
    ];
  };
  const guardRule: WildcardRule = {
    actions: ['states:DescribeExecution'],
    resource: flat(stack.runGuardArns.executions),
    reason:
      "The run guard reads the input of this state machine's RUNNING executions (to tell a dry run from a real one); execution " +
      'names are generated per run, so the ARN ends in a wildcard under this one state machine.',
  };
  // A fleet: the functions that call Genesys read any org's secret, <secretName>/<org>, by name prefix.
  const orgSecretRules: WildcardRule[] = [];
  if (stack.orgSecrets.size > 0) {
    const secretName = (stack.secret.node.defaultChild as CfnSecret).name!;
    orgSecretRules.push({
      actions: ['secretsmanager:GetSecretValue'],
      resource: flat(stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: orgSecretName(secretName, '*'), arnFormat: ArnFormat.COLON_RESOURCE_NAME })),
      reason:
        `A fleet's run reads its org's Genesys OAuth client from the secret ${orgSecretName(secretName, '<org>')} (the org comes with the ` +
        'execution input). One resource by name prefix, since one ARN per org (about 100 characters each, a hundred orgs) would ' +
        "outgrow a role's inline policies (10,240 characters in all); the prefix ends in '/', so it reaches the org secrets and not " +
        "the stack's own secret or any other, and only GetSecretValue is granted.",
    });
  }
  for (const name of FUNCTION_NAMES) {
    const genesys = name === 'fetch' || name === 'optimize' || name === 'verify';
    acknowledgeWildcards(defaultPolicy(stack.functions[name].role!), [...runObjectRules(name), ...(name === 'validate' ? [guardRule] : []), ...(genesys ? orgSecretRules : [])]);
  }
  // The fleet function reads every org run's report and writes the fleet's: the same run-object keys as the other functions'.
  if (stack.fleet) acknowledgeWildcards(defaultPolicy(stack.fleet.fn.role!), runObjectRules('fleet'));

  const sm = stack.stateMachine;
  /** arn:<partition>:states:<region>:<account>:execution:<the state machine's name>, as the template spells it (escaped for a RegExp). */
  const executionsOf = (machine: typeof sm) =>
    esc(`arn:<AWS::Partition>:states:${flat(stack.region)}:${flat(stack.account)}:execution:`) +
    esc(`{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${stack.getLogicalId(machine.node.defaultChild as never)}"}]}]}`);
  const fnArnWildcards = Object.values(stack.functions).map((f) => `${flat(f.functionArn)}:*`);
  const loggingAndTracing: WildcardRule = {
    actions: [
      'logs:CreateLogDelivery', 'logs:GetLogDelivery', 'logs:UpdateLogDelivery', 'logs:DeleteLogDelivery', 'logs:ListLogDeliveries',
      'logs:PutResourcePolicy', 'logs:DescribeResourcePolicies', 'logs:DescribeLogGroups',
      'xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets',
    ],
    resource: '*',
    reason:
      'Step Functions logging to CloudWatch Logs (vended log delivery) and X-Ray tracing: these actions do not support resource-level ' +
      'permissions, so AWS documents them on "*" (docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html, .../concepts-xray-tracing.html).',
  };
  const approvalSm = stack.approval.stateMachine;
  acknowledgeWildcards(defaultPolicy(approvalSm.role), [
    {
      actions: ['lambda:InvokeFunction'],
      resource: `${flat(stack.functions.approval.functionArn)}:*`,
      reason: "CDK's LambdaInvoke grant: the approval function, also by qualified ARN (function:<name>:<version or alias>). No other function.",
    },
    loggingAndTracing,
  ]);
  acknowledgeWildcards(defaultPolicy(sm.role), [
    {
      actions: ['states:DescribeExecution', 'states:StopExecution'],
      // arn:<partition>:states:<region>:<account>:execution:<the approval state machine's name>*
      resource: new RegExp(
        `^${executionsOf(approvalSm)}\\*$`,
      ),
      reason:
        "CDK's StartExecution .sync:2 grant: the optimizer waits for, and stops when it stops, its approval execution, whose name is " +
        'generated per run. Scoped to executions of the approval state machine.',
    },
    {
      actions: ['s3:GetObject'],
      resource: new RegExp(`^${esc(`${bucketArn}/${anyRun(RUN_OBJECT.items)}`)}$`),
      reason: "The Distributed Map's ItemReader reads each run's ids (runs/<state machine>/<execution>/items.json): the run segment is only known at run time.",
    },
    {
      actions: ['s3:PutObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
      resource: new RegExp(`^${esc(`${bucketArn}/${anyRun(`${RUN_OBJECT.mapResults}*`)}`)}$`),
      reason:
        "The Distributed Map's ResultWriter writes each child execution's result under the run's map-results/<map run id>/ (the actions AWS " +
        'documents for ResultWriter); the run and map run ids are only known at run time.',
    },
    {
      actions: ['lambda:InvokeFunction'],
      resource: new RegExp(`^(${fnArnWildcards.map(esc).join('|')})$`),
      reason: "CDK's LambdaInvoke grant: the optimizer's functions, also by qualified ARN (function:<name>:<version or alias>). No other function.",
    },
    loggingAndTracing,
  ]);
  const mapPolicy = sm.node.tryFindChild('DistributedMapPolicy');
  if (mapPolicy instanceof Policy) {
    acknowledgeWildcards(mapPolicy, [
      {
        actions: ['states:DescribeExecution', 'states:StopExecution', 'states:RedriveExecution'],
        // arn:<partition>:states:<region>:<account>:execution:<this state machine's name>[/*]:*
        resource: new RegExp(
          `^${executionsOf(sm)}(/\\*)?:\\*$`,
        ),
        reason:
          "CDK's Distributed Map grant: the state machine starts each index as a child execution of itself and must describe, stop and " +
          'redrive those child executions, whose names are generated per map run. Scoped to executions of this state machine.',
      },
    ]);
  }

  // The Fleet state machine (a deployment with orgs). CDK's StepFunctionsStartExecution .sync:2 grant is
  // states:StartExecution on the optimizer (no wildcard), DescribeExecution and StopExecution on its
  // executions (the wildcard below: AWS documents both for .sync), and events:PutTargets/PutRule/DescribeRule on
  // the managed rule StepFunctionsGetEventsForStepFunctionsExecutionRule (no wildcard).
  if (stack.fleet) {
    const fleetSm = stack.fleet.machine.stateMachine;
    acknowledgeWildcards(defaultPolicy(fleetSm.role), [
      {
        actions: ['lambda:InvokeFunction'],
        resource: `${flat(stack.fleet.fn.functionArn)}:*`,
        reason: "CDK's LambdaInvoke grant: the fleet function (plan, assess a wave, report), also by qualified ARN (function:<name>:<version or alias>). No other function.",
      },
      {
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        // arn:<partition>:states:<region>:<account>:execution:<the optimizer state machine's name>*
        resource: new RegExp(
          `^${executionsOf(sm)}\\*$`,
        ),
        reason:
          "CDK's StartExecution .sync:2 grant: the Fleet waits for each org's optimizer run and stops it when the fleet execution stops " +
          '(the two actions AWS documents for .sync, docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html); run names are ' +
          'generated per org and run (<org>-<uuid>), so the ARN ends in a wildcard after the optimizer state machine name. (CDK leaves ' +
          "out the ':' before it, so state machines whose names start with <stack>-Optimizer would match too: the stack has none.)",
      },
      loggingAndTracing,
    ]);
  }
}
