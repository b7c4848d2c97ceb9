// Approving a plan before anything changes, through the real state machines: the optimizer starts
// the approval machine (.sync:2), whose task waits for a callback (.waitForTaskToken); the approval
// function keeps the token in the run store and tells the notification topic; the decision comes
// back as an operator sends it (infra/cli/approval-decision.ts, SendTaskSuccess with the stored
// token). Also the run-completed notification, as the EventBridge rule's input transformer makes it.
import { describe, expect, it } from 'vitest';
import { decision, type ApprovalDecision } from '../functions/domain/approval.ts';
import type { PendingApproval } from '../functions/handlers/approval.ts';
import { runKey } from '../functions/store/run-store.ts';
import { S3RunStore } from '../functions/store/s3-run-store.ts';
import { sendDecision } from '../infra/cli/approval-decision.ts';
import { ADMIN } from '../infra/local/aws/local-aws.ts';
import { clientsAs } from '../infra/local/run-local.ts';
import { FAST, entry, expectReportCovers, filesUnder, findLeaks, index, puts, useLocalRuns, type Run } from './support/local-run.ts';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const runs = useLocalRuns();

const ORG = {
  indexes: [
    index('a', {}, { name: 'alpha' }),
    index('b', {}, { name: 'beta' }),
    // Over the default maxShards (50): skipped, with the reason the operator sees.
    index('big', {}, { name: 'huge', shardCount: 80 }),
  ],
};

const store = () => new S3RunStore(runs.synthesized().resources.only('AWS::S3::Bucket').name, clientsAs(runs.aws(), ADMIN).s3);
const admin = () => clientsAs(runs.aws(), ADMIN);

/** Runs with approval required; `decide` answers the request as an operator would (or not at all). */
async function runWithApproval(decide: ((executionId: string) => ApprovalDecision) | null, approval: Record<string, unknown> = { required: true, timeoutHours: 1 }) {
  const sim = await runs.startSim(ORG);
  const seen: { executionId: string; messages: string[]; decidedAt: number; token: string | null }[] = [];
  const published = runs.aws().published.length;
  const events = runs.aws().events.length;
  const run = await runs.runAgainst(sim, { timing: FAST, approval }, {}, {
    onApprovalRequested: ({ executionId, messages }) => {
      const record = { executionId, messages, decidedAt: 0, token: null as string | null };
      seen.push(record);
      void (async () => {
        record.token = (await store().getJson<PendingApproval>(runKey(executionId, 'approval'))).taskToken;
        if (!decide) return;
        record.decidedAt = Date.now();
        await sendDecision({ sfn: admin().sfn, store: store() }, executionId, decide(executionId));
      })();
    },
  });
  return { run, sim, seen, published: runs.aws().published.slice(published), events: runs.aws().events.slice(events) };
}

function storeFiles(r: Run): Array<[string, string]> {
  return filesUnder(r.storeDir).filter((f) => !f.endsWith('approval.json._S3rver_object')).map((f) => [f, readFileSync(f, 'utf8')] as [string, string]);
}

describe('approval: the plan waits for an operator', { timeout: 60_000 }, () => {
  it('approved: the summary and the exact commands reach the topic and the audit trail; nothing is PUT before the decision; the token is only in the run store', async () => {
    const { run, sim, seen, published, events } = await runWithApproval(() => decision('approved', 'jane@example.com', null));
    expect(run.result.status).toBe('SUCCEEDED');
    expectReportCovers(run, ['a', 'b', 'big']);
    expect(seen).toHaveLength(1);
    const [request] = seen;
    expect(request!.executionId).toBe(run.result.executionId);
    // What the topic's subscribers read: the counts, the indexes by name, the skipped one's reason, the commands.
    const message = published.map((m) => m.message).find((m) => m.includes('waits for a decision'));
    expect(message, 'the approval request published to the topic').toBeDefined();
    expect(message).toMatch(/3 indexes: 2 to optimize, 1 skipped\./);
    expect(message).toMatch(/^ {2}alpha \(a\)$/m);
    expect(message).toMatch(/^ {2}huge \(big\): .*shard/m);
    expect(message).toContain(`npm run execute -- --approve '${run.result.executionId}'`);
    expect(message).toContain(`npm run execute -- --reject '${run.result.executionId}' --reason`);
    const audit = events.find((e) => e.DetailType === 'Plan Approval Requested');
    expect(audit, 'the Plan Approval Requested audit event').toBeDefined();
    expect(JSON.parse(audit!.Detail!)).toMatchObject({ status: 'waiting', plan: { toOptimize: 2, skipped: 1, indexesToOptimize: [{ id: 'a', name: 'alpha' }, { id: 'b', name: 'beta' }] } });
    // Nothing changed before the operator decided.
    expect(puts(sim).length).toBe(2);
    expect(Math.min(...puts(sim).map((p) => p.at))).toBeGreaterThanOrEqual(request!.decidedAt);
    expect(run.result.report!.approval).toMatchObject({ status: 'approved', by: 'jane@example.com', reason: null });
    expect(entry(run, 'a').outcome).toBe('optimized');
    // The token: in the run store's approval object, nowhere else a run leaves things.
    expect(request!.token).toMatch(/^.{100,}$/);
    const everywhere = [...published.map((m) => m.message), ...events.map((e) => JSON.stringify(e))].join('\n');
    expect(everywhere).not.toContain(request!.token);
    expect(findLeaks({ lines: run.lines, result: run.result, storeFiles: storeFiles(run) }, [['task token', request!.token!]])).toEqual([]);
  });

  it('rejected with a reason: no PUT, every qualifying index planned with the reason, the execution succeeds and says who and why', async () => {
    const { run, sim } = await runWithApproval(() => decision('rejected', 'sam', 'change freeze'));
    expect(run.result.status).toBe('SUCCEEDED');
    expect(puts(sim)).toEqual([]);
    expect(run.result.report!.approval).toMatchObject({ status: 'rejected', by: 'sam', reason: 'change freeze' });
    expect(entry(run, 'a')).toMatchObject({ outcome: 'planned', reason: 'not started: the plan was rejected by sam (change freeze)' });
    expect(entry(run, 'big').outcome).toBe('skipped');
    expect(run.result.report!.summary).toMatchObject({ optimized: 0, planned: 2, failed: 0 });
  });

  it('no decision in time: timedOut, no PUT, the execution succeeds', async () => {
    // 0.0005 h is 2 s: the shortest wait a test can afford that still outlasts the request itself.
    const { run, sim, seen } = await runWithApproval(null, { required: true, timeoutHours: 0.0005 });
    expect(seen).toHaveLength(1);
    expect(run.result.status).toBe('SUCCEEDED');
    expect(puts(sim)).toEqual([]);
    expect(run.result.report!.approval).toMatchObject({ status: 'timedOut', by: null });
    // The token of a finished wait is refused, as Step Functions refuses it.
    await expect(sendDecision({ sfn: admin().sfn, store: store() }, run.result.executionId, decision('approved', 'late', null))).rejects.toThrow(/timed out at .*the run ended without changes/);
  });

  it('a dry run with approval required does not wait: nothing would change', async () => {
    const sim = await runs.startSim(ORG);
    let asked = false;
    const run = await runs.runAgainst(sim, { timing: FAST, dryRun: true, approval: { required: true } }, {}, { onApprovalRequested: () => (asked = true) });
    expect(asked).toBe(false);
    expect(run.result.report!.approval).toBeNull();
    expect(run.result.report!.summary.planned).toBe(2);
  });

  it('the approval function may not publish (sns:Publish taken away): the run fails before any PUT, as in AWS', async () => {
    const sim = await runs.startSim(ORG);
    const run = await runs.runAgainst(sim, { timing: FAST, approval: { required: true } }, {}, {
      iam: (iam) => iam.withoutAction('approval', 'sns:Publish'),
      expectDenials: true,
      onApprovalRequested: () => {
        throw new Error('no request can have been made');
      },
    });
    expect(run.result.denials.map((d) => `${d.principal} ${d.service}:${d.operation}`)).toContain('approval sns:Publish');
    expect(puts(sim)).toEqual([]);
    expect(run.result.status).toBe('FAILED');
    expect(run.result.report!.error?.name).toBe('States.TaskFailed');
  });
});

describe('the run-completed notification', { timeout: 60_000 }, () => {
  it('one readable message per run on the topic, made by the rule from the run audit event: outcome, counts, failures with reasons, links', async () => {
    const sim = await runs.startSim({
      indexes: [index('ok', {}, { name: 'fine' }), index('bad', { faults: { put: [{ status: 400, times: -1, message: 'Validation failed: refreshPolicy not allowed' }] } }, { name: 'broken' })],
    });
    const before = runs.aws().published.length;
    const run = await runs.runAgainst(sim, { timing: FAST });
    const messages = runs.aws().published.slice(before).filter((m) => m.principal === 'events.amazonaws.com');
    expect(messages, 'one message from the notification rule').toHaveLength(1);
    const lines = messages[0]!.message.split('\n');
    const name = run.result.executionId.split(':').pop();
    // A text template: each line a JSON string, as EventBridge delivers it (the quotes are EventBridge's).
    expect(lines[0]).toBe(`"Genesys index optimizer run ${name}: failed"`);
    expect(lines[1]).toBe('"2 indexes: 1 optimized, 0 skipped, 1 failed. Run error Run.IndexesFailed"');
    expect(lines[2]).toMatch(/^"Failed: broken: .*400.*refreshPolicy not allowed.*"$/);
    expect(lines[3]).toBe('"Latency regressions: none"');
    expect(lines[4]).toBe('"Approval: not required"');
    expect(lines[5]).toBe(`"Execution: https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/${run.result.executionId}"`);
    // The page: in the S3 console, with its s3:// location beside the report's.
    const page = run.result.reportPath.replace(/report\.json$/, 'report.html');
    expect(lines[6]).toBe(`"Page: https://console.aws.amazon.com/s3/object/${page.split('/')[2]}?region=us-east-1&prefix=${encodeURIComponent(page.split('/').slice(3).join('/'))} (${page})"`);
    expect(lines[7]).toContain(run.result.reportPath);
  });
});

describe('npm start with approval required', () => {
  it('with neither --approve nor --reject and no terminal: refuses at once (exit 2), naming the flags', () => {
    const started = Date.now();
    const r = spawnSync(process.execPath, ['infra/local/start.ts', '--input', '{"approval": {"required": true}}', '--store', mkdtempSync(join(tmpdir(), 'start-approval-'))], {
      stdio: ['pipe', 'pipe', 'pipe'],
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/waits for approval .* no terminal to ask on: pass --approve or --reject \[--reason TEXT\]/);
    // At once: before the simulator, the synthesis or the run.
    expect(r.stdout).not.toMatch(/simulator|Synthesizing/);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('refuses --approve with --reject', () => {
    const r = spawnSync(process.execPath, ['infra/local/start.ts', '--approve', '--reject'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--approve and --reject: give one/);
  });
});
