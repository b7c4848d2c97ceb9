/**
 * Running it on AWS: the schedule, the run guard's permissions, the audit bus, log groups and
 * retention, the saved Logs Insights queries, the alarms and their topic, the dashboard, each
 * function's environment, and the settings read from CDK context. Bundling is off (the stack
 * test bundles): these only read the template.
 */
import { App } from 'aws-cdk-lib';
import { parseOrgSettings } from '../functions/domain/fleet.ts';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { AUDIT_SOURCE } from '../functions/audit/audit-event.ts';
import { METRIC, METRICS_NAMESPACE, MetricUnit, ORG_DIMENSION } from '../functions/shared/metrics.ts';
import { taskHandler, type TaskEvent } from '../functions/shared/invocation.ts';
import { createLogger, SERVICE_NAME } from '../functions/shared/logger.ts';
import { INDEX_ID_PLACEHOLDER } from '../infra/stack/observability.ts';
import { OptimizerStack, type OptimizerStackProps } from '../infra/stack/optimizer-stack.ts';
import { settingsFromContext } from '../infra/stack/settings.ts';

type Json = any;
type Resources = Record<string, { Type: string; Properties?: Json; DeletionPolicy?: string }>;

const NAMES = ['fetch', 'validate', 'optimize', 'verify', 'report', 'approval'] as const;
type Name = (typeof NAMES)[number];
const cap = (name: string) => `${name[0]!.toUpperCase()}${name.slice(1)}`;
const asArray = (v: Json): Json[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

interface Synth {
  stack: OptimizerStack;
  template: Template;
  resources: Resources;
  idsOf: (type: string) => string[];
  only: (type: string) => string;
  fnId: Record<Name, string>;
  fnRoleId: Record<Name, string>;
  stateMachineId: string;
  stateMachineRoleId: string;
  env: (name: Name) => Record<string, Json>;
  /** Every Allow statement of every identity policy: role ids it is attached to, actions, resources. */
  statements: () => Array<{ roles: string[]; actions: string[]; resources: Json[]; source: string }>;
}

function synth(id: string, props: OptimizerStackProps = {}): Synth {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new OptimizerStack(app, id, { env: { account: '123456789012', region: 'eu-west-1' }, ...props });
  const template = Template.fromStack(stack);
  const resources: Resources = template.toJSON().Resources;
  const idsOf = (type: string) => Object.keys(resources).filter((k) => resources[k]!.Type === type);
  const only = (type: string) => {
    const ids = idsOf(type);
    expect(ids, type).toHaveLength(1);
    return ids[0]!;
  };
  const fnId = {} as Record<Name, string>;
  const fnRoleId = {} as Record<Name, string>;
  for (const name of NAMES) {
    const found = idsOf('AWS::Lambda::Function').find((k) => k.startsWith(`${cap(name)}Function`));
    if (!found) throw new Error(`no ${name} function`);
    fnId[name] = found;
    fnRoleId[name] = resources[found]!.Properties.Role['Fn::GetAtt'][0];
  }
  const stateMachineId = stack.getLogicalId(stack.stateMachine.node.defaultChild as never);
  const stateMachineRoleId = resources[stateMachineId]!.Properties.RoleArn['Fn::GetAtt'][0];
  const statements = () =>
    idsOf('AWS::IAM::Policy').flatMap((pid) => {
      const p = resources[pid]!.Properties;
      const roles = asArray(p.Roles).map((r: Json) => r.Ref);
      return asArray(p.PolicyDocument.Statement)
        .filter((s: Json) => s.Effect === 'Allow')
        .map((s: Json) => ({ roles, actions: asArray(s.Action), resources: asArray(s.Resource), source: pid }));
    });
  return {
    stack, template, resources, idsOf, only, fnId, fnRoleId, stateMachineId, stateMachineRoleId, statements,
    env: (name) => resources[fnId[name]]!.Properties.Environment.Variables,
  };
}

const roleNameOf = (s: Synth, roleId: string): string =>
  roleId === s.stateMachineRoleId ? 'stateMachine' : (NAMES.find((n) => s.fnRoleId[n] === roleId) ?? roleId);
const rolesGranting = (s: Synth, action: string) =>
  [...new Set(s.statements().filter((st) => st.actions.includes(action)).flatMap((st) => st.roles.map((r) => roleNameOf(s, r))))].sort();

/** A formatted ARN as CloudFormation renders it: arn:${Partition}:... */
const partitionArn = (rest: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, rest]] });

let defaults: Synth;
let custom: Synth;

beforeAll(() => {
  defaults = synth('OptimizerTest');
  custom = synth('OptimizerCustom', {
    genesysRegion: 'mypurecloud.ie',
    logRetentionDays: 30,
    scheduleEnabled: true,
    scheduleExpression: 'cron(30 1 ? * SAT *)',
    scheduleTimezone: 'Europe/Dublin',
    scheduleInput: { dryRun: true, maxConcurrency: 3 },
    alarmEmail: 'ops@example.com',
  });
}, 60_000);

describe('schedule', () => {
  it('is off by default, weekly on Sunday 03:00 UTC, no flexible window, input {}', () => {
    const s = defaults;
    const props = s.resources[s.only('AWS::Scheduler::Schedule')]!.Properties;
    expect(props).toMatchObject({
      ScheduleExpression: 'cron(0 3 ? * SUN *)',
      ScheduleExpressionTimezone: 'UTC',
      State: 'DISABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
    });
    expect(props.Target.Arn).toEqual({ Ref: s.stateMachineId });
    expect(JSON.parse(props.Target.Input)).toEqual({});
  });

  it('honours the expression, time zone, input and enabled settings', () => {
    const s = custom;
    const props = s.resources[s.only('AWS::Scheduler::Schedule')]!.Properties;
    expect(props).toMatchObject({ ScheduleExpression: 'cron(30 1 ? * SAT *)', ScheduleExpressionTimezone: 'Europe/Dublin', State: 'ENABLED' });
    expect(JSON.parse(props.Target.Input)).toEqual({ dryRun: true, maxConcurrency: 3 });
  });

  it("starts executions with its own role, which may start only this state machine", () => {
    const s = defaults;
    const target = s.resources[s.only('AWS::Scheduler::Schedule')]!.Properties.Target;
    const roleId = target.RoleArn['Fn::GetAtt'][0];
    const role = s.resources[roleId]!.Properties;
    expect(role.ManagedPolicyArns).toBeUndefined();
    const trust = asArray(role.AssumeRolePolicyDocument.Statement);
    expect(trust.map((t: Json) => t.Principal.Service)).toEqual(['scheduler.amazonaws.com']);
    expect(trust[0].Condition.StringEquals['aws:SourceAccount']).toBe('123456789012');
    const mine = s.statements().filter((st) => st.roles.includes(roleId));
    expect(mine.map((st) => [st.actions, st.resources])).toEqual([[['states:StartExecution'], [{ Ref: s.stateMachineId }]]]);
    // A retry policy is always rendered; ours keeps a late start from running into business hours.
    expect(target.RetryPolicy.MaximumEventAgeInSeconds).toBe(3600);
    expect(target.DeadLetterConfig).toBeUndefined();
  });

  it('may require approval: the scheduled run then waits for an operator (its input, checked at synth)', () => {
    const s = synth('WithApproval', { scheduleInput: { approval: { required: true, timeoutHours: 48 } } });
    const props = s.resources[s.only('AWS::Scheduler::Schedule')]!.Properties;
    expect(JSON.parse(props.Target.Input)).toEqual({ approval: { required: true, timeoutHours: 48 } });
    expect(() => synth('TooLong', { scheduleInput: { approval: { required: true, timeoutHours: 100 } } })).toThrow(/scheduleInput: approval\.timeoutHours: must be between 0 and 72/);
  });

  it('with orgs, starts one org (its input names it) or the fleet (scheduleTarget fleet, a fleet input), each checked at synth', () => {
    const orgs = parseOrgSettings([{ name: 'canary', wave: 1 }, { name: 'prod-eu', wave: 2 }], 'orgs');
    const single = synth('OrgSchedule', { orgs, scheduleTarget: 'optimizer', scheduleInput: { org: 'prod-eu', dryRun: true } });
    expect(single.resources[single.only('AWS::Scheduler::Schedule')]!.Properties.Target.Arn).toEqual({ Ref: single.stateMachineId });
    expect(() => synth('OrgScheduleNoOrg', { orgs, scheduleTarget: 'optimizer', scheduleInput: {} })).toThrow(/scheduleInput: org: is required/);
    // With orgs and no target, the schedule starts the fleet: adding orgs to a deployment needs nothing else.
    const byDefault = synth('OrgScheduleDefault', { orgs });
    expect(byDefault.resources[byDefault.only('AWS::Scheduler::Schedule')]!.Properties.Description).toMatch(/fleet run/);

    const fleet = synth('FleetSchedule', { orgs, scheduleTarget: 'fleet', scheduleInput: { orgs: ['canary', 'prod-eu'], input: { approval: { required: true } } } });
    const target = fleet.resources[fleet.only('AWS::Scheduler::Schedule')]!.Properties.Target;
    const fleetMachine = Object.keys(fleet.resources).find((id) => fleet.resources[id]!.Type === 'AWS::StepFunctions::StateMachine' && id.startsWith('Fleet'))!;
    expect(target.Arn).toEqual({ Ref: fleetMachine });
    // Its role may start the fleet, nothing else.
    const mine = fleet.statements().filter((st) => st.roles.includes(target.RoleArn['Fn::GetAtt'][0]));
    expect(mine.map((st) => [st.actions, st.resources])).toEqual([[['states:StartExecution'], [{ Ref: fleetMachine }]]]);
    expect(() => synth('FleetScheduleBad', { orgs, scheduleTarget: 'fleet', scheduleInput: { orgs: ['prod-us'] } })).toThrow(/scheduleInput: orgs\[0\]: unknown org "prod-us"/);
    expect(() => synth('FleetScheduleBadOverride', { orgs, scheduleTarget: 'fleet', scheduleInput: { input: { timing: { healthPollSeconds: 0 } } } })).toThrow(/scheduleInput: input\.timing\.healthPollSeconds: /);
    expect(() => synth('FleetWithoutOrgs', { scheduleTarget: 'fleet' })).toThrow(/scheduleTarget: fleet needs the orgs setting/);
  });

  it("a hundred orgs of the longest names fit the validate function's environment; more names than 4 KB of variables hold fail at synth", () => {
    const names = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `org-${String(i).padStart(3, '0')}-${'x'.repeat(24)}` }));
    expect(names(1)[0]!.name).toHaveLength(32);
    const hundred = synth('HundredOrgs', { orgs: parseOrgSettings(names(100), 'orgs') });
    const validate = hundred.resources[hundred.fnId.validate]!.Properties;
    const variables = validate.Environment.Variables as Record<string, unknown>;
    expect(String(variables['GENESYS_ORGS']).split(',')).toHaveLength(100);
    // What Lambda counts: the variables' keys and values, at most 4 KB (tokens here are ARNs of a similar length).
    expect(JSON.stringify(variables).length).toBeLessThan(4096);
    expect(() => synth('TooManyOrgs', { orgs: parseOrgSettings(names(120), 'orgs') })).toThrow(/orgs: the 120 org names take \d+ bytes .* 4 KB/);
  }, 60_000);

  it('refuses an input the state machine would reject, a bad time zone or expression, at synth', () => {
    expect(() => synth('BadInput', { scheduleInput: { dryrun: true } })).toThrow(/scheduleInput: .*dryrun/);
    expect(() => synth('BadZone', { scheduleTimezone: 'Europe/Atlantis' })).toThrow(/scheduleTimezone/);
    expect(() => synth('BadExpr', { scheduleExpression: '0 3 * * SUN' })).toThrow(/scheduleExpression/);
  });
});

describe('run guard', () => {
  it('the state machine has a fixed name from the stack name, and validate is told its ARN', () => {
    const s = defaults;
    expect(s.resources[s.stateMachineId]!.Properties.StateMachineName).toBe('OptimizerTest-Optimizer');
    const v = s.env('validate');
    expect(v.RUN_GUARD).toBe('stepfunctions');
    expect(v.STATE_MACHINE_ARN).toEqual(partitionArn(':states:eu-west-1:123456789012:stateMachine:OptimizerTest-Optimizer'));
    for (const name of NAMES.filter((n) => n !== 'validate')) {
      expect(s.env(name).RUN_GUARD, name).toBeUndefined();
      expect(s.env(name).STATE_MACHINE_ARN, name).toBeUndefined();
    }
  });

  it('validate may list this state machine\'s executions and describe them, nothing more in states:', () => {
    const s = defaults;
    const validateStates = s.statements().filter((st) => st.roles.includes(s.fnRoleId.validate) && st.actions.some((a) => a.startsWith('states:')));
    expect(validateStates.map((st) => [st.actions, st.resources])).toEqual([
      [['states:ListExecutions'], [partitionArn(':states:eu-west-1:123456789012:stateMachine:OptimizerTest-Optimizer')]],
      [['states:DescribeExecution'], [partitionArn(':states:eu-west-1:123456789012:execution:OptimizerTest-Optimizer:*')]],
    ]);
    expect(rolesGranting(s, 'states:ListExecutions')).toEqual(['validate']);
    // The state machine's own role describes its Distributed Map children (CDK's grant); no other function may.
    expect(rolesGranting(s, 'states:DescribeExecution').filter((r) => r !== 'stateMachine')).toEqual(['validate']);
    for (const name of NAMES.filter((n) => n !== 'validate')) {
      const any = s.statements().filter((st) => st.roles.includes(s.fnRoleId[name]) && st.actions.some((a) => a.startsWith('states:')));
      expect(any, name).toEqual([]);
    }
  });
});

describe('audit bus', () => {
  it('is one custom bus, named after the stack, with an archive of the optimizer events', () => {
    const s = defaults;
    const bus = s.only('AWS::Events::EventBus');
    expect(s.resources[bus]!.Properties.Name).toBe('OptimizerTest-audit');
    const archive = s.resources[s.only('AWS::Events::Archive')]!.Properties;
    expect(archive.SourceArn).toEqual({ 'Fn::GetAtt': [bus, 'Arn'] });
    expect(archive.EventPattern.source).toEqual([AUDIT_SOURCE]);
    expect(archive.RetentionDays).toBe(90);
    expect(custom.resources[custom.only('AWS::Events::Archive')]!.Properties.RetentionDays).toBe(30);
  });

  it('only optimize, verify and report know the bus and may put events, on that bus only', () => {
    const s = defaults;
    const bus = s.only('AWS::Events::EventBus');
    for (const name of NAMES) {
      const expected = ['optimize', 'verify', 'report', 'approval'].includes(name);
      expect(s.env(name).AUDIT_BUS_NAME, name).toEqual(expected ? { Ref: bus } : undefined);
    }
    // The state machine's events:PutRule/PutTargets/DescribeRule are for the managed rule of .sync:2, not the bus.
    const put = s.statements().filter((st) => st.actions.includes('events:PutEvents'));
    expect(put.length).toBeGreaterThan(0);
    for (const st of put) {
      expect(st.actions, st.source).toEqual(['events:PutEvents']);
      expect(st.resources, st.source).toEqual([{ 'Fn::GetAtt': [bus, 'Arn'] }]);
    }
    expect(rolesGranting(s, 'events:PutEvents')).toEqual(['approval', 'optimize', 'report', 'verify']);
  });
});

describe('environment', () => {
  it('gives each function only what it reads', () => {
    const s = custom;
    const expected: Record<Name, string[]> = {
      // PACER_TABLE: every function that calls Genesys reserves its call slots in the API budget.
      fetch: ['GENESYS_REGION', 'GENESYS_SECRET_ID', 'PACER_TABLE', 'RUN_BUCKET'],
      validate: ['RUN_BUCKET', 'RUN_GUARD', 'STATE_MACHINE_ARN'],
      // The run store: each index's outcome, and the run-level stop's count of failures.
      optimize: ['AUDIT_BUS_NAME', 'GENESYS_REGION', 'GENESYS_SECRET_ID', 'PACER_TABLE', 'RUN_BUCKET'],
      verify: ['AUDIT_BUS_NAME', 'GENESYS_REGION', 'GENESYS_SECRET_ID', 'PACER_TABLE', 'RUN_BUCKET'],
      report: ['AUDIT_BUS_NAME', 'RUN_BUCKET'],
      approval: ['AUDIT_BUS_NAME', 'NOTIFICATION_FORMAT', 'NOTIFICATION_TOPIC_ARN', 'RUN_BUCKET'],
    };
    const common = ['NODE_OPTIONS', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME'];
    for (const name of NAMES) {
      expect(Object.keys(s.env(name)).sort(), name).toEqual([...expected[name], ...common].sort());
      expect(s.env(name).POWERTOOLS_METRICS_NAMESPACE, name).toBe(METRICS_NAMESPACE);
      if (expected[name].includes('GENESYS_REGION')) expect(s.env(name).GENESYS_REGION).toBe('mypurecloud.ie');
    }
    // Without the setting, no GENESYS_REGION at all.
    for (const name of NAMES) expect(defaults.env(name).GENESYS_REGION, name).toBeUndefined();
  });
});

describe('logs', () => {
  const logGroupOf = (s: Synth, name: Name) => s.resources[s.fnId[name]]!.Properties.LoggingConfig.LogGroup.Ref;

  it('one log group per function and one per state machine, 90 days by default', () => {
    const s = defaults;
    const groups = s.idsOf('AWS::Logs::LogGroup');
    expect(groups).toHaveLength(NAMES.length + 2);
    const fnGroups = NAMES.map((n) => logGroupOf(s, n));
    expect(new Set(fnGroups).size).toBe(NAMES.length);
    for (const g of groups) expect(s.resources[g]!.Properties.RetentionInDays, g).toBe(90);
    // The audit trail outlives the stack.
    for (const g of fnGroups) expect(s.resources[g]!.DeletionPolicy, g).toBe('Retain');
    for (const name of NAMES) expect(s.resources[s.fnId[name]]!.Properties.LoggingConfig).toMatchObject({ LogFormat: 'JSON', ApplicationLogLevel: 'INFO' });
  });

  it('the state machine logs ALL events with execution data to its own group', () => {
    const s = defaults;
    const cfg = s.resources[s.stateMachineId]!.Properties.LoggingConfiguration;
    expect(cfg).toMatchObject({ Level: 'ALL', IncludeExecutionData: true });
    const dest = cfg.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
    expect(s.resources[dest]!.Properties.LogGroupName).toBe('/aws/vendedlogs/states/OptimizerTest-Optimizer');
    expect(NAMES.map((n) => logGroupOf(s, n))).not.toContain(dest);
    expect(s.resources[s.stateMachineId]!.Properties.TracingConfiguration).toEqual({ Enabled: true });
  });

  it('honours logRetentionDays, and refuses a value CloudWatch Logs does not support', () => {
    for (const g of custom.idsOf('AWS::Logs::LogGroup')) expect(custom.resources[g]!.Properties.RetentionInDays, g).toBe(30);
    expect(() => synth('BadRetention', { logRetentionDays: 45 })).toThrow(/logRetentionDays: 45/);
  });
});

describe('saved queries', () => {
  const queries = (s: Synth) =>
    Object.fromEntries(
      s.idsOf('AWS::Logs::QueryDefinition').map((q) => {
        const p = s.resources[q]!.Properties;
        return [p.Name, { query: p.QueryString as string, groups: asArray(p.LogGroupNames).map((g: Json) => g.Ref).sort() }];
      }),
    );
  const fnGroups = (s: Synth, names: readonly Name[]) => names.map((n) => s.resources[s.fnId[n]]!.Properties.LoggingConfig.LogGroup.Ref).sort();

  it('are the four, named under the stack, over the right log groups', () => {
    const s = defaults;
    const q = queries(s);
    expect(Object.keys(q).sort()).toEqual(
      ['everything about one index', 'failed indexes in a run', 'query latency before and after per run', 'throttling and retries'].map((n) => `OptimizerTest/${n}`),
    );
    expect(q['OptimizerTest/failed indexes in a run']!.groups).toEqual(fnGroups(s, NAMES));
    expect(q['OptimizerTest/throttling and retries']!.groups).toEqual(fnGroups(s, ['fetch', 'optimize', 'verify']));
    expect(q['OptimizerTest/query latency before and after per run']!.groups).toEqual(fnGroups(s, ['report']));
    expect(q['OptimizerTest/everything about one index']!.groups).toEqual(fnGroups(s, NAMES));
  });

  it('filter on the Powertools keys the functions log', () => {
    const q = queries(defaults);
    const failed = q['OptimizerTest/failed indexes in a run']!.query;
    expect(failed).toMatch(/^fields .*executionId.*indexId.*reason/m);
    expect(failed).toMatch(/\| filter outcome = 'failed'/);
    const throttling = q['OptimizerTest/throttling and retries']!.query;
    expect(throttling).toMatch(/\| filter status = 429 or outcome = 'retry'/);
    expect(throttling).toMatch(/\| stats .*waitSeconds.* by executionId, indexId/);
    const latency = q['OptimizerTest/query latency before and after per run']!.query;
    expect(latency).toMatch(/queryLatencyMs\.before/);
    expect(latency).toMatch(/queryLatencyMs\.after/);
    expect(latency).toMatch(/summary\.failed/);
    expect(latency).toMatch(/\| filter message like \/\^run \(complete\|failed\)\//);
    const one = q['OptimizerTest/everything about one index']!.query;
    expect(one).toContain(`| filter indexId = '${INDEX_ID_PLACEHOLDER}'`);
  });
});

describe('alarms', () => {
  const alarms = (s: Synth) => s.idsOf('AWS::CloudWatch::Alarm').map((a) => s.resources[a]!.Properties);

  it('five alarms, one per problem, each to the topic but IndexesFailed (RunFailed tells of such a run), missing data not breaching', () => {
    const s = defaults;
    const topic = s.only('AWS::SNS::Topic');
    const all = alarms(s);
    expect(all).toHaveLength(5);
    for (const a of all) {
      expect(a.AlarmActions, a.MetricName).toEqual(a.MetricName === 'IndexesFailed' ? undefined : [{ Ref: topic }]);
      expect(a).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching', Statistic: 'Sum' });
    }
    const byMetric = Object.fromEntries(all.map((a) => [`${a.Namespace}/${a.MetricName}`, a.Dimensions]));
    const sm = [{ Name: 'StateMachineArn', Value: { Ref: s.stateMachineId } }];
    expect(byMetric).toEqual({
      'AWS/States/ExecutionsFailed': sm,
      'AWS/States/ExecutionsTimedOut': sm,
      'AWS/States/ExecutionsAborted': sm,
      [`${METRICS_NAMESPACE}/${METRIC.indexesFailed}`]: [{ Name: 'service', Value: 'genesys-index-optimizer' }],
      [`${METRICS_NAMESPACE}/${METRIC.latencyRegressions}`]: [{ Name: 'service', Value: 'genesys-index-optimizer' }],
    });
  });

  it('the topic is encrypted with a rotated key CloudWatch may use, and takes publishes over TLS only', () => {
    const s = defaults;
    const topic = s.resources[s.only('AWS::SNS::Topic')]!.Properties;
    const keyId = topic.KmsMasterKeyId['Fn::GetAtt'][0];
    const key = s.resources[keyId]!.Properties;
    expect(key.EnableKeyRotation).toBe(true);
    const cw = asArray(key.KeyPolicy.Statement).find((st: Json) => st.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect(cw.Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
    // Only this account's alarms: CloudWatch in another account cannot use the key.
    expect(cw.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': '123456789012' } });
    const policy = asArray(s.resources[s.only('AWS::SNS::TopicPolicy')]!.Properties.PolicyDocument.Statement);
    const deny = policy.find((st: Json) => st.Effect === 'Deny');
    expect(deny).toMatchObject({ Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
    const allow = policy.find((st: Json) => st.Effect === 'Allow');
    expect(allow).toMatchObject({ Action: 'sns:Publish', Principal: { Service: 'cloudwatch.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } } });
  });

  it('subscribes an e-mail address only when alarmEmail is set', () => {
    expect(defaults.idsOf('AWS::SNS::Subscription')).toEqual([]);
    const sub = custom.resources[custom.only('AWS::SNS::Subscription')]!.Properties;
    expect(sub).toMatchObject({ Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: { Ref: custom.only('AWS::SNS::Topic') } });
  });
});

describe('dashboard', () => {
  it('shows every optimizer metric and the execution outcomes', () => {
    const s = defaults;
    const body = JSON.stringify(s.resources[s.only('AWS::CloudWatch::Dashboard')]!.Properties.DashboardBody);
    for (const metric of Object.values(METRIC)) expect(body, metric).toContain(`\\"${METRICS_NAMESPACE}\\",\\"${metric}\\",\\"service\\",\\"genesys-index-optimizer\\"`);
    for (const m of ['ExecutionsSucceeded', 'ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted']) expect(body, m).toContain(`\\"AWS/States\\",\\"${m}\\"`);
    // Daily buckets: one weekly run per datapoint.
    expect(body).toContain('\\"period\\":86400');
    expect(body).not.toMatch(/\\"period\\":(300|60)\b/);
  });
});

describe('settings from context', () => {
  const read = (ctx: Record<string, unknown>) => (key: string) => ctx[key];

  it('defaults: stack name, nag on, nothing else set', () => {
    const s = settingsFromContext(read({}));
    expect(s.stackName).toBe('GenesysIndexOptimizer');
    expect(s.nag).toBe(true);
    expect(Object.values(s.props).filter((v) => v !== undefined)).toEqual([]);
  });

  it('reads command-line strings and cdk.json values alike', () => {
    const cli = settingsFromContext(
      read({ scheduleEnabled: 'true', logRetentionDays: '30', scheduleInput: '{"dryRun":true}', scheduleExpression: 'rate(7 days)', alarmEmail: 'a@b.c', nag: 'false' }),
    );
    expect(cli.nag).toBe(false);
    expect(cli.props).toMatchObject({ scheduleEnabled: true, logRetentionDays: 30, scheduleInput: { dryRun: true }, scheduleExpression: 'rate(7 days)', alarmEmail: 'a@b.c' });
    const json = settingsFromContext(read({ scheduleEnabled: false, runRetentionDays: 14, scheduleInput: { maxConcurrency: 2 } }));
    expect(json.props).toMatchObject({ scheduleEnabled: false, runRetentionDays: 14, scheduleInput: { maxConcurrency: 2 } });
  });

  it('Genesys client settings reach the functions that call Genesys, and only those', () => {
    const s = settingsFromContext(read({ genesysTimeoutMs: '2500', genesysIndexesPath: '/api/v2/search/indexes-v2', genesysAnalyticsQueryPath: '/api/v2/analytics/query' }));
    expect(s.props).toMatchObject({ genesysTimeoutMs: 2500, genesysIndexesPath: '/api/v2/search/indexes-v2', genesysAnalyticsQueryPath: '/api/v2/analytics/query' });
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const template = Template.fromStack(new OptimizerStack(app, 'Settings', { ...s.props, env: { account: '123456789012', region: 'eu-west-1' } })).toJSON() as Json;
    const envs = Object.values(template.Resources as Record<string, Json>)
      .filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME)
      .map((r) => r.Properties.Environment.Variables);
    const withTimeout = envs.filter((v) => v.GENESYS_TIMEOUT_MS === '2500');
    expect(withTimeout).toHaveLength(3);
    for (const v of withTimeout) {
      expect(v.GENESYS_SECRET_ID).toBeDefined();
      expect(v).toMatchObject({ GENESYS_INDEXES_PATH: '/api/v2/search/indexes-v2', GENESYS_ANALYTICS_QUERY_PATH: '/api/v2/analytics/query' });
    }
    for (const v of envs.filter((e) => e.GENESYS_SECRET_ID === undefined)) expect(v.GENESYS_TIMEOUT_MS).toBeUndefined();
  });

  it('refuses what it cannot read', () => {
    expect(() => settingsFromContext(read({ genesysTimeoutMs: '2.5s' }))).toThrow(/genesysTimeoutMs: expected a whole number of milliseconds/);
    expect(() => settingsFromContext(read({ genesysIndexesPath: 'https://api.example/api/v2/x' }))).toThrow(/genesysIndexesPath: expected a path/);
    expect(() => settingsFromContext(read({ scheduleEnabled: 'yes' }))).toThrow(/scheduleEnabled/);
    expect(() => settingsFromContext(read({ logRetentionDays: 'ninety' }))).toThrow(/logRetentionDays/);
    expect(() => settingsFromContext(read({ scheduleInput: '{dryRun:true}' }))).toThrow(/scheduleInput: not valid JSON/);
    expect(() => settingsFromContext(read({ scheduleInput: '[1]' }))).toThrow(/scheduleInput: expected a JSON object/);
    expect(() => settingsFromContext(read({ notificationFormat: 'slack' }))).toThrow(/notificationFormat: expected one of text, chat, got "slack"/);
  });
});

// ─── A fleet (the orgs setting): alarms and dashboard rows per org, and the Org dimension ──────────

/** The dashboard's widgets, its Refs and GetAtts as "@@Ref:Id@@" / "@@GetAtt:Id.Attr@@" markers. */
function dashboardWidgets(s: Synth): Json[] {
  const body = s.resources[s.only('AWS::CloudWatch::Dashboard')]!.Properties.DashboardBody;
  const text =
    typeof body === 'string'
      ? body
      : (body['Fn::Join'][1] as Json[]).map((p) => (typeof p === 'string' ? p : p.Ref ? `@@Ref:${p.Ref}@@` : `@@GetAtt:${(p['Fn::GetAtt'] as string[]).join('.')}@@`)).join('');
  return JSON.parse(text).widgets;
}
/** A metric row of a widget: [namespace, name, dim, value, ..., {options}] as a record. */
function metricRow(row: Json[]): { namespace?: string; name?: string; dims: Record<string, string>; options: Json } {
  const options = typeof row[row.length - 1] === 'object' ? row[row.length - 1] : {};
  const plain = row.filter((x) => typeof x === 'string');
  if (plain.length === 0) return { dims: {}, options };
  const dims: Record<string, string> = {};
  for (let i = 2; i + 1 < plain.length; i += 2) dims[plain[i]!] = plain[i + 1]!;
  return { namespace: plain[0], name: plain[1], dims, options };
}

describe('a fleet: alarms and dashboard per org', () => {
  const ORG_NAMES = ['canary', 'prod-eu', 'prod-us'];
  let fleet: Synth;
  let fleetId: string;
  beforeAll(() => {
    fleet = synth('FleetOps', { orgs: parseOrgSettings(ORG_NAMES.map((name, i) => ({ name, wave: i === 0 ? 1 : 2 })), 'orgs') });
    fleetId = fleet.stack.getLogicalId(fleet.stack.fleet!.machine.stateMachine.node.defaultChild as never);
  }, 60_000);
  const alarms = (s: Synth) => s.idsOf('AWS::CloudWatch::Alarm').map((id) => ({ id, ...s.resources[id]!.Properties }));
  const orgOf = (a: Json): string | undefined => asArray(a.Dimensions).find((d: Json) => d.Name === ORG_DIMENSION)?.Value;

  it("per org: IndexesFailed (no action) and LatencyRegressed (to the topic) on its Org dimension, named and described with the org's name", () => {
    const topic = fleet.only('AWS::SNS::Topic');
    for (const org of ORG_NAMES) {
      const mine = alarms(fleet).filter((a) => orgOf(a) === org);
      expect(mine.map((a) => a.MetricName).sort(), org).toEqual([METRIC.latencyRegressions, METRIC.indexesFailed].sort());
      for (const a of mine) {
        expect(a.Namespace).toBe(METRICS_NAMESPACE);
        // Exactly the dimension set a fleet run's metrics carry (see the EMF test below).
        expect(asArray(a.Dimensions).sort((x: Json, y: Json) => x.Name.localeCompare(y.Name))).toEqual([
          { Name: ORG_DIMENSION, Value: org },
          { Name: 'service', Value: SERVICE_NAME },
        ]);
        expect(a.AlarmDescription).toContain(`Org ${org}`);
        expect(a).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching', Statistic: 'Sum', Period: 300 });
      }
      const failed = mine.find((a) => a.MetricName === METRIC.indexesFailed)!;
      const regressed = mine.find((a) => a.MetricName === METRIC.latencyRegressions)!;
      expect(failed.AlarmName).toBe(`FleetOps ${org}: indexes failed`);
      expect(failed.AlarmActions).toBeUndefined();
      expect(regressed.AlarmName).toBe(`FleetOps ${org}: latency regressed`);
      expect(regressed.AlarmActions).toEqual([{ Ref: topic }]);
    }
  });

  it('3 run alarms + 2 per org + the Fleet\'s: no deployment-wide index alarm, which a fleet run (dimension Org) would never feed', () => {
    const all = alarms(fleet);
    expect(all).toHaveLength(3 + 2 * ORG_NAMES.length + 1);
    expect(all.filter((a) => a.Namespace === METRICS_NAMESPACE && orgOf(a) === undefined)).toEqual([]);
    const states = all.filter((a) => a.Namespace === 'AWS/States');
    expect(states.map((a) => `${a.MetricName} ${a.Dimensions[0].Value.Ref}`).sort()).toEqual(
      [`ExecutionsAborted ${fleet.stateMachineId}`, `ExecutionsFailed ${fleet.stateMachineId}`, `ExecutionsFailed ${fleetId}`, `ExecutionsTimedOut ${fleet.stateMachineId}`].sort(),
    );
    // Without orgs: the five of before (the alarms test above), none with an Org dimension.
    expect(alarms(defaults).filter((a) => orgOf(a) !== undefined)).toEqual([]);
  });

  it("a row per org: its indexes optimized and failed, regressions, runs and throttled calls (dimension Org), and its two alarms", () => {
    const widgets = dashboardWidgets(fleet);
    const byTitle = new Map(widgets.map((w: Json) => [w.properties.title, w]));
    const orgAlarms = (org: string) => alarms(fleet).filter((a) => orgOf(a) === org).map((a) => `@@GetAtt:${a.id}.Arn@@`).sort();
    for (const org of ORG_NAMES) {
      const indexes = byTitle.get(`${org}: indexes per day`);
      const runs = byTitle.get(`${org}: runs and throttling per day`);
      const status = byTitle.get(`${org}: alarms`);
      expect(indexes && runs && status, org).toBeTruthy();
      const rows = [...indexes.properties.metrics, ...runs.properties.metrics].map(metricRow);
      for (const r of rows) expect(r.dims, `${org} ${r.name}`).toEqual({ [ORG_DIMENSION]: org, service: SERVICE_NAME });
      expect(rows.map((r) => `${r.name} ${r.options.stat}`)).toEqual([
        `${METRIC.indexesOptimized} Sum`,
        `${METRIC.indexesFailed} Sum`,
        `${METRIC.latencyRegressions} Sum`,
        // One run report per run: its metrics' sample count is the number of runs.
        `${METRIC.indexesPlanned} SampleCount`,
        `${METRIC.throttledCalls} Sum`,
      ]);
      // The three widgets sit side by side: one row.
      expect(new Set([indexes.y, runs.y, status.y]).size, org).toBe(1);
      expect([...status.properties.alarms].sort()).toEqual(orgAlarms(org));
    }
  });

  it("the Fleet state machine's executions and alarm; the deployment-wide graphs add up the orgs (SEARCH over the Org dimension)", () => {
    const widgets = dashboardWidgets(fleet);
    const fleetGraph = widgets.find((w: Json) => w.properties.title === 'Fleet executions per day');
    const rows = fleetGraph.properties.metrics.map(metricRow);
    expect(rows.map((r: Json) => r.name)).toEqual(['ExecutionsSucceeded', 'ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted', 'ExecutionsStarted']);
    for (const r of rows) expect(r.dims).toEqual({ StateMachineArn: `@@Ref:${fleetId}@@` });
    const fleetAlarm = alarms(fleet).find((a) => a.Namespace === 'AWS/States' && a.Dimensions[0].Value.Ref === fleetId)!;
    expect(widgets.find((w: Json) => w.properties.title === 'Fleet alarm').properties.alarms).toEqual([`@@GetAtt:${fleetAlarm.id}.Arn@@`]);
    // Every optimizer metric on the deployment-wide graphs is a sum (or average) over the orgs' series.
    const expressions = widgets.flatMap((w: Json) => (w.properties.metrics ?? []).map(metricRow)).map((r: Json) => r.options.expression).filter(Boolean);
    for (const metric of Object.values(METRIC)) {
      expect(expressions.some((e: string) => e.includes(`{${METRICS_NAMESPACE},${ORG_DIMENSION},service} MetricName="${metric}"`)), metric).toBe(true);
    }
    // No optimizer metric without its Org: such a series gets no data in a fleet.
    for (const w of widgets) for (const r of (w.properties.metrics ?? []).map(metricRow)) if (r.namespace === METRICS_NAMESPACE) expect(r.dims[ORG_DIMENSION], w.properties.title).toBeDefined();
  });

  it('without orgs the dashboard is as before: no Org, no SEARCH, no fleet', () => {
    const widgets = dashboardWidgets(defaults);
    const text = JSON.stringify(widgets);
    expect(text).not.toContain(`"${ORG_DIMENSION}"`);
    expect(text).not.toContain('SEARCH');
    expect(text).not.toMatch(/Fleet/);
    expect(widgets.map((w: Json) => w.properties.title ?? '(text)')).toEqual([
      '(text)',
      'Runs (executions per day)',
      'Indexes per run',
      'Query latency before / after (ms)',
      'Genesys throttling (429 responses per day)',
      'Indexes slower after optimizing (per day)',
      'Function errors per day',
      'Alarms',
    ]);
  });

  it("a hundred orgs fit CloudFormation's 500 resources and 1 MB template, the dashboard's 500 widgets, an alarm widget's 100 alarms", () => {
    // The longest names the setting allows (32 characters).
    const names = Array.from({ length: 100 }, (_, i) => `org-${String(i).padStart(3, '0')}-${'x'.repeat(24)}`);
    const hundred = synth('HundredOrgsOps', { orgs: parseOrgSettings(names.map((name, i) => ({ name, wave: 1 + Math.floor(i / 10) })), 'orgs') });
    const resourceCount = Object.keys(hundred.resources).length;
    expect(resourceCount).toBeLessThanOrEqual(500);
    expect(JSON.stringify(hundred.template.toJSON()).length).toBeLessThan(1_000_000);
    // Secrets and alarms per org: 1 + 2.
    expect(hundred.idsOf('AWS::SecretsManager::Secret')).toHaveLength(101);
    expect(hundred.idsOf('AWS::CloudWatch::Alarm')).toHaveLength(4 + 2 * 100);
    const widgets = dashboardWidgets(hundred);
    expect(widgets.length).toBe(11 + 3 * 100);
    expect(widgets.length).toBeLessThanOrEqual(500);
    for (const w of widgets.filter((x: Json) => x.type === 'alarm')) expect(w.properties.alarms.length).toBeLessThanOrEqual(100);
    console.info(`100 orgs: ${resourceCount} resources, ${widgets.length} widgets, ${hundred.idsOf('AWS::CloudWatch::Alarm').length} alarms, template ${JSON.stringify(hundred.template.toJSON()).length} bytes`);
  }, 60_000);
});

describe('metrics of a run: the Org dimension (EMF, as a handler writes it)', () => {
  /** Runs one task the way every handler does, and returns the JSON lines it wrote to stdout. */
  async function invoke(event: TaskEvent): Promise<{ metrics: Json[]; logs: Json[] }> {
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const handler = taskHandler(createLogger('report'), 'report', async (_event: TaskEvent, log, metrics) => {
        log.info('run complete');
        metrics.addMetric(METRIC.indexesFailed, MetricUnit.Count, 2);
        metrics.addMetric(METRIC.latencyRegressions, MetricUnit.Count, 1);
        return 'done';
      });
      expect(await handler(event)).toBe('done');
    } finally {
      spy.mockRestore();
    }
    const records = written
      .join('')
      .split('\n')
      .filter((l) => l.trim().startsWith('{'))
      .map((l) => JSON.parse(l) as Json);
    return { metrics: records.filter((r) => r._aws), logs: records.filter((r) => !r._aws) };
  }

  it("a fleet run's metrics carry Org beside service (the dimension set its org's alarms watch), and its log lines the key org", async () => {
    const { metrics, logs } = await invoke({ executionId: 'arn:aws:states:eu-west-1:123456789012:execution:S-Optimizer:canary-1', org: 'canary' });
    expect(metrics).toHaveLength(1);
    const emf = metrics[0]._aws.CloudWatchMetrics;
    expect(emf).toHaveLength(1);
    expect(emf[0].Namespace).toBe(METRICS_NAMESPACE);
    expect(emf[0].Dimensions).toEqual([['service', ORG_DIMENSION]]);
    expect(emf[0].Metrics.map((m: Json) => m.Name).sort()).toEqual([METRIC.latencyRegressions, METRIC.indexesFailed].sort());
    expect(metrics[0]).toMatchObject({ service: SERVICE_NAME, [ORG_DIMENSION]: 'canary', [METRIC.indexesFailed]: 2, [METRIC.latencyRegressions]: 1 });
    expect(logs.length).toBeGreaterThan(0);
    for (const l of logs) expect(l.org).toBe('canary');
  });

  it("a single-org run's metrics have service alone (the deployment-wide alarms' dimension), no Org anywhere", async () => {
    for (const org of [undefined, null]) {
      const { metrics, logs } = await invoke({ executionId: 'arn:aws:states:eu-west-1:123456789012:execution:S-Optimizer:run-1', ...(org === undefined ? {} : { org }) });
      expect(metrics).toHaveLength(1);
      expect(metrics[0]._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service']]);
      expect(metrics[0][ORG_DIMENSION]).toBeUndefined();
      expect(metrics[0].service).toBe(SERVICE_NAME);
      for (const l of logs) expect('org' in l).toBe(false);
    }
  });
});
