/**
 * cdk-nag's AwsSolutions pack over the synthesized stack: no finding is left unacknowledged (the
 * ones left are printed), every acknowledgement answers a real finding and gives a reason, and
 * the harness does catch a new wildcard.
 */
import { App, ArnFormat, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { applyNagChecks } from '../infra/stack/nag.ts';
import { OptimizerStack, type OptimizerStackProps } from '../infra/stack/optimizer-stack.ts';
import { parseOrgSettings } from '../functions/domain/fleet.ts';

const ENV = { account: '123456789012', region: 'eu-west-1' };
/** A fleet: its org secrets (one with the org's region in it), the org-secret prefix grant, the fleet function and the Fleet state machine. */
const FLEET: OptimizerStackProps = {
  orgs: parseOrgSettings([{ name: 'canary', wave: 1 }, { name: 'prod-eu', wave: 2, region: 'mypurecloud.ie', apiBudgetPerMinute: 200 }], 'orgs'),
  scheduleTarget: 'fleet',
};

function build(props: OptimizerStackProps = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new OptimizerStack(app, 'NagTest', props);
  return { app, stack };
}

interface Finding {
  rule: string;
  severity: string;
  paths: string[];
}

/** The pack's report on the tree: what `cdk synth` would refuse. */
function findings(app: App, options: { ignoreAcknowledgements?: boolean } = {}): Finding[] {
  app.synth();
  const pack = new AwsSolutionsChecks(app);
  if (options.ignoreAcknowledgements) (pack as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
  const report = pack.validateScope(app);
  return report.violations.map((v) => ({ rule: v.ruleName, severity: v.severity ?? 'error', paths: v.violatingResources.map((r) => r.constructPath ?? '?') }));
}

const show = (list: Finding[]) => list.map((f) => `${f.severity} ${f.rule}\n    ${f.paths.join('\n    ')}`).join('\n');

/** Every acknowledgement recorded in the tree: where, which rule id, why. */
function acknowledgements(root: IConstruct): Array<{ path: string; id: string; reason: string }> {
  const out: Array<{ path: string; id: string; reason: string }> = [];
  for (const c of root.node.findAll()) {
    for (const m of c.node.metadata) {
      if (m.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(m.data as Record<string, string>)) out.push({ path: c.node.path, id: id.replace(/^annotation::/i, ''), reason });
    }
  }
  return out;
}

// Each case synthesizes whole stacks (the first also loads CDK and cdk-nag): seconds each, more beside the bundling stack test.
describe('AwsSolutions checks', { timeout: 30_000 }, () => {
  it.each([
    ['an account and region', { env: ENV }],
    ['no environment (as cdk synth without credentials)', {}],
    ['orgs (a fleet)', { env: ENV, ...FLEET }],
    ['orgs and no environment', { ...FLEET }],
    ['every option set', { env: ENV, scheduleEnabled: true, alarmEmail: 'ops@example.com', genesysRegion: 'mypurecloud.ie', logRetentionDays: 365, ...FLEET }],
  ] as Array<[string, OptimizerStackProps]>)('leave no unacknowledged error or warning with %s', (_label, props) => {
    const { app } = build(props);
    const left = findings(app);
    if (left.length > 0) console.error(`unacknowledged cdk-nag findings:\n${show(left)}`);
    expect(left.map((f) => `${f.severity} ${f.rule}`)).toEqual([]);
  });

  it('pass when registered as a synth-time plugin, as infra/stack/app.ts does', () => {
    const { app } = build({ env: ENV });
    applyNagChecks(app);
    expect(() => app.synth()).not.toThrow();
  });

  it.each([
    ['one org', {}],
    ['orgs (a fleet)', FLEET],
  ] as Array<[string, OptimizerStackProps]>)('every acknowledgement answers a real finding on its construct, with a reason (%s)', (_label, props) => {
    const { app } = build({ env: ENV, ...props });
    const raw = findings(app, { ignoreAcknowledgements: true });
    const acks = acknowledgements(app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      const hit = raw.find((f) => f.rule === ack.id && f.paths.some((p) => p === ack.path || p.startsWith(`${ack.path}/`)));
      expect(hit, `${ack.id} at ${ack.path} acknowledges nothing`).toBeDefined();
      expect(ack.reason.length, `${ack.id}: reason too thin`).toBeGreaterThan(80);
    }
    // And together they cover every raw finding (the first test, from the other side).
    for (const f of raw) {
      for (const p of f.paths) {
        expect(acks.some((a) => a.id === f.rule && (p === a.path || p.startsWith(`${a.path}/`))), `${f.rule} at ${p}`).toBe(true);
      }
    }
    // The accepted findings, by rule: a change here is a change a reviewer should see.
    const rules = [...new Set(acks.map((a) => a.id.replace(/\[.*$/, '')))].sort();
    expect(rules).toEqual(['AwsSolutions-IAM5', 'AwsSolutions-S1', 'AwsSolutions-SMG4']);
  });

  it('report a wildcard added later, which no acknowledgement covers', () => {
    const { app, stack } = build({ env: ENV });
    stack.functions.report.addToRolePolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [stack.runBucket.arnForObjects('*')] }));
    const left = findings(app);
    expect(left.map((f) => f.rule)).toEqual([expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<RunBucket[^>]*\.Arn>\/\*\]$/)]);
    expect(left[0]!.paths).toEqual(['NagTest/ReportRole/DefaultPolicy/Resource']);

    // An acknowledged wildcard stops being covered once another action is granted on it.
    const widened = build({ env: ENV });
    widened.stack.functions.report.addToRolePolicy(new PolicyStatement({ actions: ['s3:DeleteObject'], resources: [widened.stack.runBucket.arnForObjects('runs/*/report.json')] }));
    expect(findings(widened.app).map((f) => f.rule)).toEqual([expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<RunBucket[^>]*\.Arn>\/runs\/\*\/report\.json\]$/)]);

    // A fleet: a grant on every secret under the org secrets' parent (broader than <secretName>/*) is not the acknowledged prefix.
    const fleet = build({ env: ENV, ...FLEET });
    const parent = fleet.stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: 'genesys-index-optimizer/*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    fleet.stack.functions.verify.addToRolePolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [parent] }));
    // And a wildcard added to the fleet function's role.
    fleet.stack.fleet!.fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [fleet.stack.runBucket.arnForObjects('runs/*')] }));
    const fleetLeft = findings(fleet.app);
    expect(fleetLeft.map((f) => f.rule).sort()).toEqual([
      expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<RunBucket[^>]*\.Arn>\/runs\/\*\]$/),
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:eu-west-1:123456789012:secret:genesys-index-optimizer/*]',
    ]);
    expect(fleetLeft.flatMap((f) => f.paths).sort()).toEqual(['NagTest/FleetRole/DefaultPolicy/Resource', 'NagTest/VerifyRole/DefaultPolicy/Resource']);

    const gated = build({ env: ENV });
    gated.stack.functions.fetch.addToRolePolicy(new PolicyStatement({ actions: ['events:*'], resources: ['*'] }));
    applyNagChecks(gated.app);
    expect(() => gated.app.synth()).toThrow(/AwsSolutions-IAM5\[Action::events:\*\]/);
  });
});
