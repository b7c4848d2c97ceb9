// IAM as AWS enforces it, in local runs: every AWS call a function or the state machine makes is
// evaluated against that role's policies from the synthesized template (infra/local/aws/iam.ts).
// The grants are checked against the calls the code makes on each path that touches AWS, not
// against a table: the runs below must meet no denial (test/support/local-run.ts fails any run
// that does), the calls that need the grants must really have been made, and a permission taken
// away must fail the run the way AWS would.
import { describe, expect, it } from 'vitest';
import type { RecordedCall } from '../infra/local/aws/local-aws.ts';
import { FAST, entry, expectReportCovers, index, puts, useLocalRuns } from './support/local-run.ts';

const runs = useLocalRuns({ recordCalls: true });

/** The calls of one run (the file's local AWS records them all). */
function callsOf(r: { result: { executionId: string; aws: { calls: RecordedCall[] } } }, since: number): RecordedCall[] {
  return r.result.aws.calls.slice(since);
}
const mark = () => runs.aws().calls.length;
const said = (c: RecordedCall) => `${c.principal} ${c.service}:${c.operation} ${c.resource}${c.context?.['s3:prefix'] !== undefined ? ` prefix=${c.context['s3:prefix']}` : ''}`;

const rejected = (id: string) => index(id, { faults: { put: [{ status: 400, times: -1, message: 'Validation failed: refreshPolicy not allowed' }] } });

describe('the stack grants what the code does', { timeout: 60_000 }, () => {
  it('the run-level stop: optimize lists, writes and reads its stop records under its own role', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `bad-${i}`);
    const from = mark();
    const r = await runs.run({ indexes: ids.map(rejected) }, { timing: FAST, maxConcurrency: 1, safety: { maxFailedShare: 0.5, minIndexesBeforeStop: 3 } });
    expectReportCovers(r, ids);
    expect(r.result.report!.indexes.some((e) => e.outcome === 'skipped' && /^run stopped/.test(e.reason ?? ''))).toBe(true);
    const optimize = callsOf(r, from).filter((c) => c.principal === 'optimize').map(said);
    // The calls the first stop of issue #9 needed, and which the optimize role was not granted.
    expect(optimize).toEqual(expect.arrayContaining([
      expect.stringMatching(/^optimize s3:ListObjectsV2 arn:aws:s3:::[^ ]+ prefix=runs\/[^ ]+\/stopped\/$/),
      expect.stringMatching(/^optimize s3:ListObjectsV2 arn:aws:s3:::[^ ]+ prefix=runs\/[^ ]+\/outcomes\/failed\/$/),
      expect.stringMatching(/^optimize s3:PutObject arn:aws:s3:::[^ ]+\/runs\/[^ ]+\/stopped\/\d+\.json$/),
      expect.stringMatching(/^optimize s3:GetObject arn:aws:s3:::[^ ]+\/runs\/[^ ]+\/stopped\/\d+\.json$/),
    ]));
    expect(r.result.denials).toEqual([]);
  });

  it('a resumed listing, the Map reading its items and writing its results, the report reading them back: all allowed', async () => {
    const from = mark();
    const r = await runs.run({ org: { faults: { list: [{ status: 429, retryAfterSeconds: 1, times: 1 }] } }, indexes: [index('a'), index('b')] });
    expect(r.result.status).toBe('SUCCEEDED');
    const made = callsOf(r, from).map(said);
    expect(made).toEqual(expect.arrayContaining([
      expect.stringMatching(/^fetch s3:GetObject .*\/inventory\.json$/),
      expect.stringMatching(/^stateMachine s3:GetObject .*\/items\.json$/),
      expect.stringMatching(/^stateMachine s3:PutObject .*\/map-results\/[^/]+\/manifest\.json$/),
      expect.stringMatching(/^validate s3:PutObject .*\/config\.json$/),
      expect.stringMatching(/^validate states:ListExecutions arn:aws:states:/),
      expect.stringMatching(/^optimize events:PutEvents arn:aws:events:/),
      expect.stringMatching(/^(fetch|optimize|verify) secretsmanager:GetSecretValue arn:aws:secretsmanager:/),
      expect.stringMatching(/^(fetch|optimize|verify) dynamodb:PutItem arn:aws:dynamodb:/),
    ]));
    expect(callsOf(r, from).filter((c) => !c.allowed)).toEqual([]);
  });
});

describe('a permission taken away fails the run as AWS would', { timeout: 60_000 }, () => {
  it('optimize without s3:ListBucket: every index fails with AccessDenied and its cause, recorded from the Map results; nothing is PUT', async () => {
    const sim = await runs.startSim({ indexes: [index('a'), index('b'), index('c')] });
    const r = await runs.runAgainst(sim, { timing: FAST }, {}, { iam: (iam) => iam.withoutAction('optimize', 's3:ListBucket'), expectDenials: true });
    expectReportCovers(r, ['a', 'b', 'c']);
    for (const id of ['a', 'b', 'c']) {
      const e = entry(r, id);
      expect(e.outcome).toBe('failed');
      // The function crashed before recording an outcome: the reason comes from the Map's results.
      expect(e.reason).toMatch(/unexpected error AccessDenied .*not authorized to perform: s3:ListBucket on resource: arn:aws:s3:::/);
      expect(puts(r.sim, id)).toHaveLength(0);
    }
    expect(r.result.status).toBe('FAILED');
    expect(r.result.denials.map((d) => `${d.principal} ${d.service}:${d.operation}`)).toEqual(expect.arrayContaining(['optimize s3:ListObjectsV2']));
  });

  it('the state machine without states:StartExecution: the Map cannot start its children, the run fails and nothing is PUT', async () => {
    // (Without lambda:InvokeFunction the first task fails too, but only after CDK's default Retry of
    // Lambda.AWSLambdaException, about two minutes, as in AWS: too long for this suite.)
    const sim = await runs.startSim({ indexes: [index('a')] });
    const r = await runs.runAgainst(sim, { timing: FAST }, {}, { iam: (iam) => iam.withoutAction('stateMachine', 'states:StartExecution') });
    expect(r.result.status).toBe('FAILED');
    expect(r.result.error?.name).toBe('States.Runtime');
    expect(r.result.error?.cause).toMatch(/not authorized to perform: states:StartExecution/);
    expect(puts(sim)).toHaveLength(0);
    expect(r.result.invocations.optimize).toBe(0);
  });

  it('the state machine without s3:PutObject: the Map cannot write its results (States.ResultWriterFailed), and the report says so', async () => {
    const sim = await runs.startSim({ indexes: [index('a')] });
    const r = await runs.runAgainst(sim, { timing: FAST }, {}, { iam: (iam) => iam.withoutAction('stateMachine', 's3:PutObject'), expectDenials: true });
    expect(r.result.status).toBe('FAILED');
    expect(r.result.error?.name).toBe('States.ResultWriterFailed');
    expect(r.result.report?.error?.cause).toMatch(/AccessDenied/);
  });
});
