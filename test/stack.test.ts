/**
 * What the synthesized OptimizerStack promises: five arm64 Node 24 functions, each with only the
 * settings it reads, the state machine's shape, least privilege on the secret, the bucket and the
 * logs, a locked-down bucket, and the outputs; and a fleet's (the `orgs` setting): each org's
 * secret, who may read them, the Fleet state machine's grants and definition, the setting's errors,
 * and that without it nothing of the fleet is deployed. (Schedule, audit bus, logs, queries, alarms,
 * dashboard and the run guard: observability.test.ts; cdk-nag: nag.test.ts.) Bundling with esbuild
 * is real, so this also proves that every handler bundles, the fleet's too.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { beforeAll, describe, expect, it } from 'vitest';
import { OptimizerStack } from '../infra/stack/optimizer-stack.ts';
import { settingsFromContext } from '../infra/stack/settings.ts';
import { fleetOrgs, parseFleetInput, parseOrgSettings, planFleet, type FleetOrg } from '../functions/domain/fleet.ts';
import { parseExecutionInput } from '../functions/domain/execution-input.ts';
import { CHART_JS_FILE, chartJsPackageFile } from '../functions/report-html/chart-library.ts';
import { S3RunStore } from '../functions/store/s3-run-store.ts';
import { runKey } from '../functions/store/run-store.ts';
import { recordOutcome } from '../functions/steps/index-outcomes.ts';
import type { IndexResult } from '../functions/domain/report.ts';
import type { TimelineEntry } from '../functions/domain/timeline.ts';

// CloudFormation JSON is untyped; these aliases keep the walking code readable.
type Json = any;
type Resources = Record<string, { Type: string; Properties?: Json }>;

const NAMES = ['fetch', 'validate', 'optimize', 'verify', 'report', 'approval'] as const;
type Name = (typeof NAMES)[number];
const SECRET_READERS: Name[] = ['fetch', 'optimize', 'verify'];
const BUCKET_USERS: Name[] = ['fetch', 'validate', 'optimize', 'verify', 'report', 'approval'];

let template: Template;
let resources: Resources;
/** Logical ids of our resources. */
let fnId: Record<Name, string>;
let fnRoleId: Record<Name, string>;
let stateMachineId: string;
/** The report function's deployment package as synthesized (its asset directory). */
let reportAssetDir: string;
let stateMachineRoleId: string;
let secretId: string;
let bucketId: string;
/** The parsed definition, intrinsics replaced by "@@Ref:Id@@" / "@@GetAtt:Id.Attr@@" markers. */
let definition: Json;

const idsOf = (type: string) => Object.keys(resources).filter((id) => resources[id]!.Type === type);
const only = (type: string) => {
  const ids = idsOf(type);
  expect(ids, type).toHaveLength(1);
  return ids[0]!;
};
const cap = (name: string) => `${name[0]!.toUpperCase()}${name.slice(1)}`;

/** CDK's own helper functions (custom-resource providers, log retention, auto-delete objects). */
function isCdkHelper(props: Json): boolean {
  const handler = String(props.Handler ?? '');
  const description = String(props.Description ?? '');
  return handler.startsWith('__entrypoint__') || /\b(CDK|custom resource|auto-delet|log retention|AwsCustomResource)/i.test(description);
}

/** The logical id a { "Fn::GetAtt": [id, "Arn"] } or { Ref: id } points at. */
function refId(v: Json): string | undefined {
  if (v && typeof v === 'object') {
    if (typeof v.Ref === 'string') return v.Ref;
    if (Array.isArray(v['Fn::GetAtt'])) return v['Fn::GetAtt'][0];
  }
  return undefined;
}

/** A JSON-safe marker for one intrinsic inside the definition string. */
function marker(v: Json): string {
  if (typeof v.Ref === 'string') return `@@Ref:${v.Ref}@@`;
  if (Array.isArray(v['Fn::GetAtt'])) return `@@GetAtt:${v['Fn::GetAtt'].join('.')}@@`;
  return `@@${JSON.stringify(v).replace(/["\\]/g, '')}@@`;
}

function parseDefinition(ds: Json): Json {
  if (typeof ds === 'string') return JSON.parse(ds);
  const [sep, parts] = ds['Fn::Join'] as [string, Json[]];
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : marker(p))).join(sep));
}

/** Every state of the definition, with nested Map processors and Parallel branches. */
function allStates(def: Json): Array<[string, Json]> {
  const out: Array<[string, Json]> = [];
  const walk = (states: Record<string, Json>) => {
    for (const [name, state] of Object.entries(states)) {
      out.push([name, state]);
      if (state.ItemProcessor) walk(state.ItemProcessor.States);
      if (state.Iterator) walk(state.Iterator.States);
      for (const b of state.Branches ?? []) walk(b.States);
    }
  };
  walk(def.States);
  return out;
}

const stateNamed = (name: string): Json => {
  const found = allStates(definition).filter(([n]) => n === name);
  expect(found.map(([n]) => n), `state ${name}`).toEqual([name]);
  return found[0]![1];
};

interface Statement {
  source: string;
  /** Role logical ids the policy is attached to (empty for resource policies). */
  roles: string[];
  Effect: string;
  actions: string[];
  resources: Json[];
  raw: Json;
}

const asArray = (v: Json): Json[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every statement of every identity and resource policy in the template (the default stack's unless told). */
function allStatements(res: Resources = resources): Statement[] {
  const out: Statement[] = [];
  const add = (source: string, roles: string[], doc: Json) => {
    for (const s of asArray(doc?.Statement)) {
      out.push({ source, roles, Effect: s.Effect, actions: asArray(s.Action ?? s.NotAction), resources: asArray(s.Resource ?? s.NotResource), raw: s });
    }
  };
  for (const [id, r] of Object.entries(res)) {
    const p = r.Properties ?? {};
    if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') {
      add(id, asArray(p.Roles).map((x) => refId(x)!).filter(Boolean), p.PolicyDocument);
    } else if (r.Type === 'AWS::IAM::Role') {
      for (const inline of asArray(p.Policies)) add(`${id}/${inline.PolicyName}`, [id], inline.PolicyDocument);
    } else if (r.Type === 'AWS::S3::BucketPolicy' || r.Type === 'AWS::SecretsManager::ResourcePolicy') {
      add(id, [], p.PolicyDocument ?? (typeof p.ResourcePolicy === 'string' ? JSON.parse(p.ResourcePolicy) : p.ResourcePolicy));
    }
  }
  return out;
}

/** IAM action wildcard match: does `pattern` (e.g. "secretsmanager:Get*" or "*") cover `action`? */
function covers(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(action);
}

const grants = (s: Statement, action: string) => s.Effect === 'Allow' && !s.raw.NotAction && s.actions.some((a) => covers(a, action));
const touchesService = (s: Statement, service: string) =>
  s.Effect === 'Allow' && (!!s.raw.NotAction || s.actions.some((a) => a === '*' || a.toLowerCase().startsWith(`${service}:`)));

const roleName = (roleId: string): string => {
  if (roleId === stateMachineRoleId) return 'stateMachine';
  const name = NAMES.find((n) => fnRoleId[n] === roleId);
  return name ?? roleId;
};

const bucketArn = (bucket = bucketId) => ({ 'Fn::GetAtt': [bucket, 'Arn'] });
/** The key pattern of a bucketArn + "/key" resource (fails the test for anything else). */
const objectKeyOf = (r: Json, bucket = bucketId): string => {
  const parts = r?.['Fn::Join']?.[1];
  expect(r?.['Fn::Join']?.[0], JSON.stringify(r)).toBe('');
  expect(parts?.[0], JSON.stringify(r)).toEqual(bucketArn(bucket));
  expect(parts, JSON.stringify(r)).toHaveLength(2);
  expect(parts[1], JSON.stringify(r)).toMatch(/^\/runs\/\*\/([a-z-]+\.(json|html)|[a-z-]+\/(([a-z]+|\*)\/)?\*)$/);
  return String(parts[1]).slice(1);
};

beforeAll(() => {
  const app = new App();
  const stack = new OptimizerStack(app, 'OptimizerTest', { env: { account: '123456789012', region: 'eu-west-1' } });
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;

  secretId = only('AWS::SecretsManager::Secret');
  bucketId = only('AWS::S3::Bucket');
  stateMachineId = stack.getLogicalId(stack.stateMachine.node.defaultChild as never);
  const sm = resources[stateMachineId]!.Properties;
  stateMachineRoleId = refId(sm.RoleArn)!;
  definition = parseDefinition(sm.DefinitionString);
  reportAssetDir = join(app.outdir, (stack.functions.report.node.findChild('Code') as Asset).assetPath);

  const ours = idsOf('AWS::Lambda::Function').filter((id) => !isCdkHelper(resources[id]!.Properties));
  fnId = {} as Record<Name, string>;
  fnRoleId = {} as Record<Name, string>;
  for (const name of NAMES) {
    const id = ours.find((i) => i.startsWith(`${cap(name)}Function`));
    if (!id) throw new Error(`no ${name} function among ${ours.join(', ')}`);
    fnId[name] = id;
    fnRoleId[name] = refId(resources[id]!.Properties.Role)!;
  }
}, 120_000);

describe('functions', () => {
  it('are exactly six of ours, one per step, each with its own role', () => {
    const ours = idsOf('AWS::Lambda::Function').filter((id) => !isCdkHelper(resources[id]!.Properties));
    expect(ours.sort()).toEqual(Object.values(fnId).sort());
    expect(new Set(Object.values(fnRoleId)).size).toBe(NAMES.length);
    for (const roleId of Object.values(fnRoleId)) expect(resources[roleId]?.Type).toBe('AWS::IAM::Role');
  });

  it.each(NAMES)('%s runs Node 24 on arm64, logging JSON to its own log group', (name) => {
    const props = resources[fnId[name]]!.Properties;
    expect(props).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler' });
    expect(props.LoggingConfig.LogFormat).toBe('JSON');
    const logGroup = refId(props.LoggingConfig.LogGroup);
    expect(resources[logGroup!]?.Type).toBe('AWS::Logs::LogGroup');
    expect(props.Environment.Variables).toMatchObject({
      POWERTOOLS_SERVICE_NAME: 'genesys-index-optimizer',
      POWERTOOLS_METRICS_NAMESPACE: 'GenesysIndexOptimizer',
    });
  });

  it('each function gets only the settings it reads', () => {
    const vars = (name: Name) => resources[fnId[name]]!.Properties.Environment.Variables;
    for (const name of NAMES) {
      const v = vars(name);
      expect('GENESYS_SECRET_ID' in v, `${name} GENESYS_SECRET_ID`).toBe(SECRET_READERS.includes(name));
      if (SECRET_READERS.includes(name)) expect(v.GENESYS_SECRET_ID).toEqual({ Ref: secretId });
      expect('RUN_BUCKET' in v, `${name} RUN_BUCKET`).toBe(BUCKET_USERS.includes(name));
      if (BUCKET_USERS.includes(name)) expect(v.RUN_BUCKET).toEqual({ Ref: bucketId });
    }
  });

  it('roles carry no managed policy, and may write logs to their own log group only', () => {
    for (const name of NAMES) {
      expect(resources[fnRoleId[name]]!.Properties.ManagedPolicyArns, name).toBeUndefined();
      const logGroup = refId(resources[fnId[name]]!.Properties.LoggingConfig.LogGroup);
      const logs = allStatements().filter((s) => s.roles.includes(fnRoleId[name]) && touchesService(s, 'logs'));
      expect(logs.length, name).toBeGreaterThan(0);
      for (const s of logs) {
        expect(s.actions.sort(), name).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
        expect(s.resources, name).toEqual([{ 'Fn::GetAtt': [logGroup, 'Arn'] }]);
      }
    }
  });
});

describe('state machine', () => {
  it('is a STANDARD state machine, with the approval machine beside it', () => {
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 2);
    expect(resources[stateMachineId]!.Properties.StateMachineType).toBe('STANDARD');
    expect(definition.StartAt).toBe('ValidateInput');
  });

  it('has the contracted states with their types', () => {
    const expected: Record<string, string> = {
      ValidateInput: 'Task',
      FetchInventory: 'Task',
      MakePlan: 'Task',
      OptimizeIndexes: 'Map',
      Optimize: 'Task',
      Verify: 'Task',
      Settle: 'Wait',
      PollWait: 'Wait',
      WaitBeforeRetry: 'Wait',
      Report: 'Task',
      RunFailed: 'Fail',
    };
    for (const [name, type] of Object.entries(expected)) expect(stateNamed(name).Type, name).toBe(type);
  });

  it('optimizes the plan in a distributed Map that reads its ids from and writes its results to the run bucket, and tolerates index failures', () => {
    const map = definition.States.OptimizeIndexes;
    expect(map).toMatchObject({
      Type: 'Map',
      MaxConcurrencyPath: '$.config.maxConcurrency',
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED' } },
      // No id list in the state: the Map reads it from the bucket…
      ItemReader: { Resource: expect.stringMatching(/^arn:.+:states:::s3:getObject$/), ReaderConfig: { InputType: 'JSON' }, Parameters: { Bucket: `@@Ref:${bucketId}@@`, 'Key.$': '$.plan.itemsKey' } },
      // …and writes the children's results there, not into its own result (256 KiB).
      ResultWriter: { Resource: expect.stringMatching(/^arn:.+:states:::s3:putObject$/), Parameters: { Bucket: `@@Ref:${bucketId}@@`, 'Prefix.$': '$.plan.resultsPrefix' } },
      // Outcomes are data: a failed index must not fail the Map and stop the others.
      ToleratedFailurePercentage: 100,
    });
    expect(map.ItemsPath).toBeUndefined();
    expect(map.MaxConcurrency).toBeUndefined();
    // Optimize and Verify run per index, inside the Map, never at the top level.
    expect(Object.keys(map.ItemProcessor.States)).toEqual(expect.arrayContaining(['Optimize', 'Verify', 'Settle', 'PollWait', 'WaitBeforeRetry']));
    expect(definition.States.Optimize).toBeUndefined();
    expect(definition.States.Verify).toBeUndefined();
  });

  it('waits only for durations taken from the state, never a fixed number of seconds', () => {
    const waits = allStates(definition).filter(([, s]) => s.Type === 'Wait');
    expect(waits.length).toBeGreaterThanOrEqual(3);
    for (const [name, s] of waits) {
      expect(s.SecondsPath, name).toMatch(/^\$\./);
      expect(s.Seconds, name).toBeUndefined();
      expect(s.Timestamp ?? s.TimestampPath, name).toBeUndefined();
    }
  });

  it('fails a run with the error and cause the report names', () => {
    const fail = stateNamed('RunFailed');
    expect(fail.ErrorPath).toMatch(/^\$\./);
    expect(fail.CausePath).toMatch(/^\$\./);
  });

  it('AwaitApproval starts the approval state machine and waits for it (.sync:2), which invokes the approval function with a task token', () => {
    const [, wait] = allStates(definition).find(([name]) => name === 'AwaitApproval')!;
    expect(wait.Resource).toMatch(/:states:::states:startExecution\.sync:2$/);
    const approvalId = Object.keys(resources).find((id) => resources[id]!.Type === 'AWS::StepFunctions::StateMachine' && id !== stateMachineId)!;
    expect(wait.Parameters.StateMachineArn).toBe(`@@Ref:${approvalId}@@`);
    const approval = parseDefinition(resources[approvalId]!.Properties.DefinitionString);
    const request = approval.States[approval.StartAt];
    expect(request.Resource).toMatch(/:states:::lambda:invoke\.waitForTaskToken$/);
    expect(request.Parameters.FunctionName).toBe(`@@GetAtt:${fnId.approval}.Arn@@`);
    expect(request.Parameters.Payload['taskToken.$']).toBe('$$.Task.Token');
    expect(request.TimeoutSecondsPath).toBe('$.timeoutSeconds');
    // The token is a parameter of this machine's task: its logs carry no execution data.
    expect(resources[approvalId]!.Properties.LoggingConfiguration.IncludeExecutionData).toBe(false);
  });

  it('every other Task invokes one of the functions, and each function but approval is used', () => {
    const tasks = allStates(definition).filter(([name, s]) => s.Type === 'Task' && name !== 'AwaitApproval');
    expect(tasks.length).toBeGreaterThanOrEqual(7);
    const invoked = (s: Json): string => {
      const resource = String(s.Resource);
      const direct = /^@@GetAtt:([^.@]+)\.Arn@@$/.exec(resource);
      if (direct) return direct[1]!;
      // The lambda:invoke integration form names the function in its parameters.
      expect(resource).toMatch(/:states:::lambda:invoke$/);
      const fn = /^@@GetAtt:([^.@]+)\.Arn@@$/.exec(String(s.Parameters?.FunctionName));
      expect(fn, 'FunctionName').not.toBeNull();
      return fn![1]!;
    };
    const byState = Object.fromEntries(tasks.map(([name, s]) => [name, invoked(s)]));
    for (const id of Object.values(byState)) expect(Object.values(fnId)).toContain(id);
    expect(new Set(Object.values(byState))).toEqual(new Set(Object.values(fnId).filter((id) => id !== fnId.approval)));
    expect(byState).toMatchObject({
      ValidateInput: fnId.validate,
      FetchInventory: fnId.fetch,
      MakePlan: fnId.validate,
      Optimize: fnId.optimize,
      Verify: fnId.verify,
      Report: fnId.report,
    });
  });

  it('every Lambda Task retries throttled invokes with full jitter', () => {
    for (const [name, s] of allStates(definition).filter(([n, st]) => st.Type === 'Task' && n !== 'AwaitApproval')) {
      const retry = asArray(s.Retry).find((r) => asArray(r.ErrorEquals).includes('Lambda.TooManyRequestsException'));
      expect(retry, name).toBeDefined();
      expect(retry.JitterStrategy, name).toBe('FULL');
      expect(retry.MaxAttempts, name).toBeGreaterThan(0);
    }
  });
});

describe('least privilege', () => {
  it('only fetch, optimize and verify may read the secret, and only that secret', () => {
    const readers = allStatements().filter((s) => grants(s, 'secretsmanager:GetSecretValue'));
    expect(readers.length).toBeGreaterThan(0);
    const roles = new Set<string>();
    for (const s of readers) {
      expect(s.roles.length, s.source).toBeGreaterThan(0);
      for (const r of s.roles) roles.add(roleName(r));
      expect(s.resources, s.source).toEqual([{ Ref: secretId }]);
    }
    expect([...roles].sort()).toEqual([...SECRET_READERS].sort());
  });

  it('only the functions that call Genesys may use the pacer table: items read and written, the refresh memory raised by verify, nothing else', () => {
    const table = only('AWS::DynamoDB::Table');
    const statements = allStatements().filter((s) => touchesService(s, 'dynamodb'));
    const roles = new Set<string>();
    for (const s of statements) {
      const updates = s.actions.includes('dynamodb:UpdateItem');
      expect(s.actions.sort(), s.source).toEqual(updates ? ['dynamodb:UpdateItem'] : ['dynamodb:GetItem', 'dynamodb:PutItem']);
      if (updates) expect(s.roles.map(roleName), s.source).toEqual(['verify']);
      expect(s.resources, s.source).toEqual([{ 'Fn::GetAtt': [table, 'Arn'] }]);
      for (const r of s.roles) roles.add(roleName(r));
    }
    expect([...roles].sort()).toEqual([...SECRET_READERS].sort());
    expect(resources[table]!.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  });

  it('the secret readers get its value only (no DescribeSecret or other secretsmanager action)', () => {
    const secretStatements = allStatements().filter((s) => touchesService(s, 'secretsmanager'));
    expect(secretStatements.length).toBeGreaterThan(0);
    for (const s of secretStatements) expect(s.actions, s.source).toEqual(['secretsmanager:GetSecretValue']);
  });

  it('no statement grants secretsmanager:* or a secretsmanager action on "*"', () => {
    for (const s of allStatements().filter((st) => touchesService(st, 'secretsmanager'))) {
      expect(s.raw.NotAction, s.source).toBeUndefined();
      expect(s.raw.NotResource, s.source).toBeUndefined();
      for (const a of s.actions) {
        expect(a, s.source).not.toBe('*');
        expect(a.toLowerCase(), s.source).not.toBe('secretsmanager:*');
        // A wildcard that reaches writes or deletes is as bad as secretsmanager:*.
        for (const write of ['secretsmanager:PutSecretValue', 'secretsmanager:DeleteSecret', 'secretsmanager:UpdateSecret']) {
          expect(covers(a, write), `${s.source} ${a}`).toBe(false);
        }
      }
      for (const r of s.resources) expect(JSON.stringify(r), s.source).not.toContain('"*"');
      expect(s.resources, s.source).not.toContain('*');
    }
  });

  it('no Allow statement grants every action', () => {
    for (const s of allStatements().filter((st) => st.Effect === 'Allow')) {
      expect(s.actions, s.source).not.toContain('*');
      expect(s.raw.NotAction, s.source).toBeUndefined();
    }
  });

  it('the functions touch the bucket, each only the run objects it reads or writes', () => {
    const s3 = allStatements().filter((s) => s.roles.length > 0 && !s.roles.includes(stateMachineRoleId) && touchesService(s, 's3'));
    const roles = new Set(s3.flatMap((s) => s.roles.map(roleName)));
    expect([...roles].sort()).toEqual([...BUCKET_USERS].sort());
    // What no function needs: bucket configuration, ACLs, tagging, object lock, versions, deletes.
    const forbidden = [
      's3:DeleteObject', 's3:DeleteBucket', 's3:PutBucketPolicy', 's3:GetBucketPolicy', 's3:GetBucketAcl', 's3:PutLifecycleConfiguration',
      's3:PutObjectAcl', 's3:GetObjectAcl', 's3:PutObjectRetention', 's3:PutObjectLegalHold', 's3:PutObjectTagging', 's3:ListBucketVersions',
    ];
    for (const s of s3) {
      expect(s.resources.length, s.source).toBeGreaterThan(0);
      for (const a of s.actions) for (const f of forbidden) expect(covers(a, f), `${s.source} ${a} covers ${f}`).toBe(false);
    }
    // Objects only under runs/ (whose keys the layout defines), and listing only with an s3:prefix
    // condition under runs/: never the whole bucket. Whether each grant covers what the code does
    // is checked against the calls themselves (test/iam-rehearsal.test.ts), not against a table here.
    for (const st of s3) {
      for (const r of st.resources) {
        if (JSON.stringify(r) === JSON.stringify(bucketArn())) {
          expect(st.actions, st.source).toEqual(['s3:ListBucket']);
          const prefixes = asArray(st.raw.Condition?.StringLike?.['s3:prefix']);
          expect(prefixes.length, `${st.source}: ListBucket without an s3:prefix condition`).toBeGreaterThan(0);
          for (const p of prefixes) expect(p, st.source).toMatch(/^runs\/\*\/[a-z-]+\/([a-z]+\/)?\*$/);
        } else {
          expect(objectKeyOf(r), st.source).toMatch(/^runs\/\*\//);
        }
      }
    }
  });

  it("the state machine reads only the Map's items and writes only its results in the bucket; validate and report have no secret access", () => {
    const mine = allStatements().filter((s) => s.roles.includes(stateMachineRoleId));
    const s3 = mine.filter((s) => touchesService(s, 's3'));
    const byKey = Object.fromEntries(s3.flatMap((st) => st.resources.map((r) => [objectKeyOf(r), [...st.actions].sort()])));
    expect(byKey).toEqual({
      'runs/*/items.json': ['s3:GetObject'],
      'runs/*/map-results/*': ['s3:AbortMultipartUpload', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:PutObject'],
    });
    const smStatements = allStatements().filter((s) => s.roles.includes(stateMachineRoleId));
    expect(smStatements.filter((s) => touchesService(s, 'secretsmanager'))).toEqual([]);
    for (const name of ['validate', 'report'] as const) {
      const mine = allStatements().filter((s) => s.roles.includes(fnRoleId[name]));
      expect(mine.filter((s) => touchesService(s, 'secretsmanager')), name).toEqual([]);
    }
  });

  it('the state machine role may invoke exactly the functions its Tasks invoke (approval is the approval machine\'s)', () => {
    const invokes = allStatements().filter((s) => s.roles.includes(stateMachineRoleId) && touchesService(s, 'lambda'));
    expect(invokes.length).toBeGreaterThan(0);
    const targets = new Set<string>();
    for (const s of invokes) {
      expect(s.actions, s.source).toEqual(['lambda:InvokeFunction']);
      for (const r of s.resources) {
        // fn.Arn, or fn.Arn + ":*" for its versions and aliases.
        const id = refId(r) ?? (r?.['Fn::Join']?.[1]?.[1] === ':*' && r['Fn::Join'][1].length === 2 ? refId(r['Fn::Join'][1][0]) : undefined);
        expect(id, JSON.stringify(r)).toBeDefined();
        expect(Object.values(fnId), JSON.stringify(r)).toContain(id);
        targets.add(id!);
      }
    }
    expect(targets).toEqual(new Set(Object.values(fnId).filter((id) => id !== fnId.approval)));
    // Nothing else on the role grants lambda actions, e.g. through another policy.
    for (const s of allStatements().filter((st) => st.roles.includes(stateMachineRoleId))) {
      for (const a of s.actions) if (a.toLowerCase().startsWith('lambda:')) expect(a).toBe('lambda:InvokeFunction');
    }
  });
});

describe("the report function's bundle", () => {
  it('carries Chart.js beside index.mjs, as the package ships it', () => {
    expect(readdirSync(reportAssetDir).sort()).toEqual([CHART_JS_FILE, 'index.mjs', 'index.mjs.map'].sort());
    expect(readFileSync(join(reportAssetDir, CHART_JS_FILE), 'utf8')).toBe(readFileSync(chartJsPackageFile(), 'utf8'));
  });

  it('the bundled handler, run where only the AWS SDK is installed (as in Lambda), writes the run page with Chart.js inlined', async () => {
    // The package alone, outside the project: node_modules holds only the SDK the Lambda runtime provides, so chart.js cannot come from there.
    const work = mkdtempSync(join(tmpdir(), 'report-bundle-'));
    const s3dir = mkdtempSync(join(tmpdir(), 'report-bundle-s3-'));
    const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3dir });
    try {
      const code = join(work, 'task');
      cpSync(reportAssetDir, code, { recursive: true });
      mkdirSync(join(work, 'node_modules'));
      symlinkSync(fileURLToPath(new URL('../node_modules/@aws-sdk', import.meta.url)), join(work, 'node_modules', '@aws-sdk'), 'dir');
      writeFileSync(join(work, 'invoke.mjs'), "const { handler } = await import('./task/index.mjs'); const out = await handler(JSON.parse(process.argv[2])); process.stdout.write('\\nRESULT ' + JSON.stringify(out) + '\\n');");

      const { port } = await server.run();
      const endpoint = `http://127.0.0.1:${port}`;
      const s3 = new S3Client({ endpoint, region: 'eu-west-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
      await s3.send(new CreateBucketCommand({ Bucket: 'run-bucket' }));
      const store = new S3RunStore('run-bucket', s3);
      const exec = 'arn:aws:states:eu-west-1:123456789012:execution:OptimizerTest-Optimizer:bundle-check';
      await store.putJson(runKey(exec, 'plan'), {
        entries: [{ id: 'a', name: '<img src=x onerror=alert(1)>', decision: 'qualifies' }, { id: 'b', name: 'beta', decision: 'capacity', reason: 'exceeds maximum node capacity limits (60 shards > 50)' }],
        qualifying: ['a'],
      });
      const at = (s: number) => new Date(Date.UTC(2026, 11, 6, 3, 0, s)).toISOString();
      const timeline: TimelineEntry[] = [
        { kind: 'call', at: at(1), call: 'getHealth', status: 200, durationMs: 80 },
        { kind: 'call', at: at(2), call: 'putOptimization', status: 202, durationMs: 120 },
        { kind: 'wait', at: at(2), reason: 'settle', seconds: 5 },
        { kind: 'call', at: at(8), call: 'getHealth', status: 200, durationMs: 70 },
      ];
      const result: IndexResult = { id: 'a', outcome: 'optimized', effect: { queryLatencyMs: { before: 100, after: 75 }, diskUsage: { before: 60, after: 55 }, regressed: false }, timeline };
      await recordOutcome(store, exec, result);
      const event = {
        executionId: exec,
        org: null,
        state: { config: { dryRun: false, apiBudgetPerMinute: 120, policy: { maxLatencyRegression: 0.2 } }, fetch: { calls: [{ kind: 'call', at: at(0), call: 'listIndexPage', status: 200, durationMs: 150 }] } },
      };

      // Not spawnSync: the S3 server answering the handler runs in this process.
      const run = await promisify(execFile)(process.execPath, ['invoke.mjs', JSON.stringify(event)], {
        cwd: work,
        encoding: 'utf8',
        timeout: 60_000,
        env: { PATH: process.env['PATH'] ?? '', RUN_BUCKET: 'run-bucket', AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', POWERTOOLS_SERVICE_NAME: 'bundle-check', POWERTOOLS_METRICS_NAMESPACE: 'BundleCheck' },
      });
      const line = run.stdout.split('\n').find((l) => l.startsWith('RESULT '));
      expect(line, `the handler's output (stderr: ${run.stderr.slice(-2000)}; stdout: ${run.stdout.slice(-2000)})`).toBeDefined();
      const out = JSON.parse(line!.slice('RESULT '.length)) as { page: string | null; report: string };
      expect(out.page).toBe('s3://run-bucket/runs/OptimizerTest-Optimizer/bundle-check/report.html');
      expect(run.stdout).not.toMatch(/run page was not written/);

      const object = await s3.send(new GetObjectCommand({ Bucket: 'run-bucket', Key: runKey(exec, 'reportPage') }));
      expect(object.ContentType).toBe('text/html; charset=utf-8');
      const html = (await object.Body!.transformToString('utf-8'));
      expect(html).toContain('Chart.js v4');
      expect(html).toContain('<script type="application/json" id="run-data">');
      expect(html).not.toContain('<img src=x');
    } finally {
      await server.close();
      rmSync(work, { recursive: true, force: true });
      rmSync(s3dir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('run bucket', () => {
  it('blocks public access, is encrypted and expires runs', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: Match.anyValue() } }] },
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Status: 'Enabled', ExpirationInDays: Match.anyValue() })]) },
    });
    const days = resources[bucketId]!.Properties.LifecycleConfiguration.Rules.map((r: Json) => r.ExpirationInDays).filter(Boolean);
    expect(Math.min(...days)).toBeGreaterThan(0);
  });

  it('denies every request not made over TLS', () => {
    const policy = only('AWS::S3::BucketPolicy');
    expect(resources[policy]!.Properties.Bucket).toEqual({ Ref: bucketId });
    const deny = allStatements().filter((s) => s.source === policy && s.Effect === 'Deny' && s.raw.Condition?.Bool?.['aws:SecureTransport'] === 'false');
    expect(deny).toHaveLength(1);
    expect(deny[0]!.actions).toEqual(['s3:*']);
    expect(deny[0]!.resources).toEqual(expect.arrayContaining([bucketArn(), { 'Fn::Join': ['', [bucketArn(), '/*']] }]));
  });
});

describe('outputs', () => {
  it('name the state machine, the secret, the bucket, the audit bus and the alarm topic', () => {
    template.hasOutput('StateMachineArn', { Value: { Ref: stateMachineId } });
    template.hasOutput('SecretArn', { Value: { Ref: secretId } });
    template.hasOutput('RunBucketName', { Value: { Ref: bucketId } });
    const bus = only('AWS::Events::EventBus');
    template.hasOutput('AuditBusName', { Value: { Ref: bus } });
    template.hasOutput('AuditBusArn', { Value: { 'Fn::GetAtt': [bus, 'Arn'] } });
    template.hasOutput('AlarmTopicArn', { Value: { Ref: only('AWS::SNS::Topic') } });
  });
});

describe('without orgs (a single-org deployment, as before)', () => {
  it('has no Fleet state machine, no fleet function, no org secret and no org settings in any function', () => {
    const machines = idsOf('AWS::StepFunctions::StateMachine').map((id) => resources[id]!.Properties.StateMachineName);
    expect(machines.sort()).toEqual(['OptimizerTest-Approval', 'OptimizerTest-Optimizer']);
    expect(idsOf('AWS::SecretsManager::Secret')).toEqual([secretId]);
    expect(idsOf('AWS::Lambda::Function').filter((id) => id.startsWith('FleetFunction'))).toEqual([]);
    for (const name of NAMES) {
      const vars = resources[fnId[name]]!.Properties.Environment.Variables;
      expect(vars.GENESYS_ORGS, name).toBeUndefined();
      expect(vars.GENESYS_SECRET_PREFIX, name).toBeUndefined();
    }
    expect(template.toJSON().Outputs.FleetStateMachineArn).toBeUndefined();
  });
});

describe('a fleet (the orgs setting)', () => {
  const ORGS = parseOrgSettings(
    [
      { name: 'canary', wave: 1 },
      { name: 'prod-eu', wave: 2, region: 'mypurecloud.ie', apiBudgetPerMinute: 200 },
      { name: 'prod-us', wave: 2, input: { policy: { cooldownHours: 48 } } },
    ],
    'orgs',
  );
  const SECRET_NAME = 'genesys-index-optimizer/oauth-client';
  const ACCOUNT = '123456789012';
  const REGION = 'eu-west-1';
  let f: {
    stack: OptimizerStack;
    resources: Resources;
    statements: Statement[];
    fnId: Record<Name | 'fleet', string>;
    fnRoleId: Record<Name | 'fleet', string>;
    optimizerId: string;
    fleetId: string;
    fleetRoleId: string;
    fleetDefinition: Json;
  };

  beforeAll(() => {
    const app = new App();
    const stack = new OptimizerStack(app, 'FleetTest', { env: { account: ACCOUNT, region: REGION }, orgs: ORGS, scheduleTarget: 'fleet' });
    const res: Resources = Template.fromStack(stack).toJSON().Resources;
    const statements = allStatements(res);
    const ids = {} as Record<Name | 'fleet', string>;
    const roles = {} as Record<Name | 'fleet', string>;
    for (const name of [...NAMES, 'fleet'] as const) {
      const id = Object.keys(res).find((k) => res[k]!.Type === 'AWS::Lambda::Function' && k.startsWith(`${cap(name)}Function`));
      if (!id) throw new Error(`no ${name} function`);
      ids[name] = id;
      roles[name] = refId(res[id]!.Properties.Role)!;
    }
    const fleetId = stack.getLogicalId(stack.fleet!.machine.stateMachine.node.defaultChild as never);
    f = {
      stack,
      resources: res,
      statements,
      fnId: ids,
      fnRoleId: roles,
      optimizerId: stack.getLogicalId(stack.stateMachine.node.defaultChild as never),
      fleetId,
      fleetRoleId: refId(res[fleetId]!.Properties.RoleArn)!,
      fleetDefinition: parseDefinition(res[fleetId]!.Properties.DefinitionString),
    };
  }, 120_000);

  /** A template ARN with the partition as aws, as IAM compares it. */
  const render = (v: Json): string => {
    if (typeof v === 'string') return v;
    if (v?.Ref === 'AWS::Partition') return 'aws';
    const join = v?.['Fn::Join'];
    if (join) return (join[1] as Json[]).map(render).join(join[0]);
    // The name of the state machine a Ref points at (CDK's Fn::Select of its ARN's seventh part).
    const select = v?.['Fn::Select'];
    if (select && select[0] === 6 && select[1]?.['Fn::Split']?.[0] === ':') return f.resources[refId(select[1]['Fn::Split'][1])!]!.Properties.StateMachineName;
    throw new Error(`cannot render ${JSON.stringify(v)}`);
  };
  const arnCovers = (pattern: string, arn: string) => covers(pattern, arn);
  const secretArn = (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-AbC123`;
  const mine = (roleId: string) => f.statements.filter((s) => s.roles.includes(roleId));

  it("each org has its secret, <secretName>/<org>, with the org's region where the setting gives one", () => {
    const secrets = Object.keys(f.resources).filter((id) => f.resources[id]!.Type === 'AWS::SecretsManager::Secret');
    expect(secrets).toHaveLength(1 + ORGS.length);
    expect(secrets.map((id) => f.resources[id]!.Properties.Name).sort()).toEqual([SECRET_NAME, ...ORGS.map((o) => `${SECRET_NAME}/${o.name}`)].sort());
    for (const org of ORGS) {
      const id = f.stack.getLogicalId(f.stack.orgSecrets.get(org.name)!.node.defaultChild as never);
      const props = f.resources[id]!.Properties;
      expect(props.Name).toBe(`${SECRET_NAME}/${org.name}`);
      expect(props.Description).toContain(org.name);
      if (org.region) {
        // A placeholder client to replace, the org's hosts already in place; never a client secret in the template.
        expect(JSON.parse(props.GenerateSecretString.SecretStringTemplate)).toEqual({ clientId: '', region: org.region });
        expect(props.GenerateSecretString.GenerateStringKey).toBe('clientSecret');
      } else {
        // As the stack's own secret: CDK's random placeholder, to be replaced by put-secret-value.
        expect(props.GenerateSecretString).toEqual(f.resources[f.stack.getLogicalId(f.stack.secret.node.defaultChild as never)]!.Properties.GenerateSecretString);
      }
      expect(props.SecretString).toBeUndefined();
    }
  });

  it("the functions that call Genesys may read exactly the org secrets' prefix (and the stack's secret), nothing broader; no one else reads a secret", () => {
    const prefix = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:secretsmanager:${REGION}:${ACCOUNT}:secret:${SECRET_NAME}/*`]] };
    const mainId = f.stack.getLogicalId(f.stack.secret.node.defaultChild as never);
    const readers = f.statements.filter((s) => touchesService(s, 'secretsmanager'));
    for (const s of readers) {
      expect(s.actions, s.source).toEqual(['secretsmanager:GetSecretValue']);
      expect([[{ Ref: mainId }], [prefix]], s.source).toContainEqual(s.resources);
    }
    const byRole = (resource: Json) =>
      [...new Set(readers.filter((s) => JSON.stringify(s.resources) === JSON.stringify([resource])).flatMap((s) => s.roles))].sort();
    const genesysRoles = (['fetch', 'optimize', 'verify'] as const).map((n) => f.fnRoleId[n]).sort();
    expect(byRole(prefix)).toEqual(genesysRoles);
    expect(byRole({ Ref: mainId })).toEqual(genesysRoles);
    expect([...new Set(readers.flatMap((s) => s.roles))].sort()).toEqual(genesysRoles);

    // What the prefix reaches, as IAM matches it (Secrets Manager adds -<6 characters> to a secret's ARN).
    const pattern = render(prefix);
    for (const org of ORGS) expect(arnCovers(pattern, secretArn(`${SECRET_NAME}/${org.name}`)), org.name).toBe(true);
    for (const other of [SECRET_NAME, `${SECRET_NAME}-other`, 'genesys-index-optimizer/other', `other/${ORGS[0]!.name}`]) {
      expect(arnCovers(pattern, secretArn(other)), other).toBe(false);
    }
  });

  it('validate is told the orgs (GENESYS_ORGS), the functions that call Genesys the secret prefix; the fleet function the run bucket only', () => {
    const vars = (name: Name | 'fleet') => f.resources[f.fnId[name]]!.Properties.Environment.Variables;
    expect(vars('validate').GENESYS_ORGS).toBe(ORGS.map((o) => o.name).join(','));
    for (const name of NAMES) {
      expect(vars(name).GENESYS_SECRET_PREFIX, name).toBe(SECRET_READERS.includes(name) ? SECRET_NAME : undefined);
      if (name !== 'validate') expect(vars(name).GENESYS_ORGS, name).toBeUndefined();
    }
    const bucket = Object.keys(f.resources).find((id) => f.resources[id]!.Type === 'AWS::S3::Bucket')!;
    expect(vars('fleet')).toEqual({
      RUN_BUCKET: { Ref: bucket },
      POWERTOOLS_SERVICE_NAME: 'genesys-index-optimizer',
      POWERTOOLS_METRICS_NAMESPACE: 'GenesysIndexOptimizer',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  it('the Fleet role may start only the optimizer, describe and stop only its executions, and invoke only the fleet function', () => {
    const statements = mine(f.fleetRoleId);
    const states = statements.filter((s) => touchesService(s, 'states'));
    expect(states.map((s) => [[...s.actions].sort(), s.resources])).toEqual([
      [['states:StartExecution'], [{ Ref: f.optimizerId }]],
      [['states:DescribeExecution', 'states:StopExecution'], [expect.anything()]],
    ]);
    const executions = render(states[1]!.resources[0]);
    const execution = (machine: string) => `arn:aws:states:${REGION}:${ACCOUNT}:execution:${machine}:canary-0b7e4c1a`;
    expect(arnCovers(executions, execution('FleetTest-Optimizer'))).toBe(true);
    for (const other of ['FleetTest-Approval', 'FleetTest-Fleet', 'OtherStack-Optimizer']) expect(arnCovers(executions, execution(other)), other).toBe(false);

    const lambda = statements.filter((s) => touchesService(s, 'lambda'));
    expect(lambda.flatMap((s) => s.actions)).toEqual(['lambda:InvokeFunction']);
    const fleetArn = { 'Fn::GetAtt': [f.fnId.fleet, 'Arn'] };
    expect(lambda[0]!.resources).toEqual([fleetArn, { 'Fn::Join': ['', [fleetArn, ':*']] }]);
    // .sync:2 follows the child through the managed rule: that rule only.
    const events = statements.filter((s) => touchesService(s, 'events'));
    for (const s of events) expect(render(s.resources[0]), s.source).toBe(`arn:aws:events:${REGION}:${ACCOUNT}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`);
    // Nothing else: no bucket, no secret, no other state machine.
    for (const s of statements) for (const a of s.actions) expect(['states', 'lambda', 'events', 'logs', 'xray'], `${s.source} ${a}`).toContain(a.split(':')[0]);
  });

  it('the fleet function reads only org runs\' report.json and writes only fleet-report.json, and nothing else', () => {
    const statements = mine(f.fnRoleId.fleet);
    const s3 = statements.filter((s) => touchesService(s, 's3'));
    const bucket = Object.keys(f.resources).find((id) => f.resources[id]!.Type === 'AWS::S3::Bucket')!;
    const byKey = Object.fromEntries(s3.flatMap((st) => st.resources.map((r) => [objectKeyOf(r, bucket), st.actions])));
    expect(byKey).toEqual({ 'runs/*/report.json': ['s3:GetObject'], 'runs/*/fleet-report.json': ['s3:PutObject'] });
    const others = statements.filter((s) => !touchesService(s, 's3'));
    expect(others.map((s) => [...s.actions].sort())).toEqual([['logs:CreateLogStream', 'logs:PutLogEvents']]);
  });

  it("the Fleet definition plans from the orgs and starts each org's run (.sync:2, the optimizer) with an input that names its org", () => {
    const d = f.fleetDefinition;
    expect(d.StartAt).toBe('PlanFleet');
    const plan = d.States.PlanFleet;
    expect(plan.Resource).toBe(`@@GetAtt:${f.fnId.fleet}.Arn@@`);
    expect(plan.Parameters).toMatchObject({ action: 'plan', 'input.$': '$$.Execution.Input' });
    const orgs = plan.Parameters.orgs as FleetOrg[];
    expect(orgs).toEqual(fleetOrgs(ORGS));
    const map = d.States.RunWave;
    expect(map.Type).toBe('Map');
    const start = map.ItemProcessor.States.StartOrgRun;
    expect(start.Resource).toMatch(/:states:::states:startExecution\.sync:2$/);
    expect(start.Parameters.StateMachineArn).toBe(`@@Ref:${f.optimizerId}@@`);
    expect(start.Parameters['Input.$']).toBe('$.input');
    // What the Map iterates: the wave NextWave picks from what PlanFleet (the fleet function) returned.
    expect(plan.ResultPath).toBe('$.progress');
    expect(d.States.NextWave.Parameters['wave.$']).toBe('States.ArrayGetItem($.progress.waves, $.progress.next)');
    expect(d.States.NextWave.ResultPath).toBe('$.current');
    expect(map.ItemsPath).toBe('$.current.wave.orgs');
    // The plan the function makes from that payload: every item's input names its org, and its run would accept it.
    const names = orgs.map((o) => o.name);
    for (const fleetInput of [{}, { orgs: ['prod-us'], dryRun: true }]) {
      const progress = planFleet(orgs, parseFleetInput(fleetInput, orgs));
      const items = progress.waves.flatMap((w) => w.orgs);
      expect(items.length).toBeGreaterThan(0);
      for (const item of items) {
        expect(item.input.org, item.name).toBe(item.name);
        expect(parseExecutionInput(item.input, names).org, item.name).toBe(item.name);
      }
    }
  });

  it('a bad orgs setting fails settingsFromContext with an error naming the field', () => {
    const read = (orgs: unknown) => () => settingsFromContext((key) => (key === 'orgs' ? orgs : undefined));
    expect(read([{ name: 'canary', colour: 'blue' }])).toThrow(/^context orgs\[0\]\.colour: unknown field/);
    expect(read([{ name: 'Prod EU' }])).toThrow(/^context orgs\[0\]\.name: must be a short slug/);
    expect(read([{ name: 'canary' }, { name: 'canary', wave: 2 }])).toThrow(/^context orgs\[1\]\.name: "canary" is named twice/);
    expect(read([{ name: 'canary' }, { name: 'prod', input: { timing: { settleSeconds: -1 } } }])).toThrow(/^context orgs\[1\]\.input\.timing\.settleSeconds: /);
    expect(read([{ name: 'canary', wave: 0 }])).toThrow(/^context orgs\[0\]\.wave: /);
    expect(read('[{"name": "canary",}]')).toThrow(/^context orgs: not valid JSON/);
    expect(read([])).toThrow(/^context orgs: must be a non-empty array/);
    // A good one, from the command line (a string) or cdk.json (JSON) alike.
    expect(settingsFromContext((key) => (key === 'orgs' ? '[{"name":"canary"}]' : undefined)).props.orgs).toEqual([{ name: 'canary', wave: 1, input: {} }]);
  });
});
