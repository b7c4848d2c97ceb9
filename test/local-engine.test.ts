// Where the local engine and the local AWS would differ from AWS unless told: the parts of the
// local runner that make them behave as AWS does, each on its own.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3RunStore } from '../functions/store/s3-run-store.ts';
import { ADMIN, startLocalAws, type LocalAws } from '../infra/local/aws/local-aws.ts';
import { standInForDistributedMaps, withAwsTaskTimeouts } from '../infra/local/engine-definition.ts';
import { MAX_APPROVAL_TIMEOUT_HOURS } from '../functions/domain/execution-input.ts';
import { applyTemplate } from '../infra/local/payload-template.ts';
import { synthesizeDefinition } from '../infra/local/definition.ts';
import { ExecutionQuota, MAX_HISTORY_EVENTS, MAX_PAYLOAD_BYTES } from '../infra/local/quotas.ts';

describe('task timeouts as Step Functions applies them', () => {
  const definition = {
    TimeoutSeconds: 7200,
    StartAt: 'Wait',
    States: {
      Wait: { Type: 'Task', Resource: 'arn:aws:states:::states:startExecution.sync:2', Parameters: { 'Input.$': '$' }, Next: 'Ask' },
      Ask: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken', TimeoutSecondsPath: '$.timeoutSeconds', Parameters: { 'Payload.$': '$.x' }, Next: 'Fn' },
      Fn: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:f', TimeoutSeconds: 30, End: true },
    },
  };
  const states = withAwsTaskTimeouts(definition)['States'] as Record<string, Record<string, unknown>>;

  it('a Task without a timeout is bounded by the execution, not the engine\'s 60 s', () => {
    expect(states['Wait']!['TimeoutSeconds']).toBe(7200);
    expect(states['Fn']!['TimeoutSeconds']).toBe(30);
  });

  it('TimeoutSecondsPath is read from the state input (AWS), carried through Parameters to where the engine reads it', () => {
    expect(states['Ask']!['TimeoutSecondsPath']).toBe('$.localTimeoutSeconds');
    expect(states['Ask']!['Parameters']).toEqual({ 'Payload.$': '$.x', 'localTimeoutSeconds.$': '$.timeoutSeconds' });
    const effective = applyTemplate(states['Ask']!['Parameters'] as never, { timeoutSeconds: 5, x: { a: 1 } }, {});
    expect(effective).toEqual({ Payload: { a: 1 }, localTimeoutSeconds: 5 });
  });
});

describe('the Distributed Map stand-in', () => {
  it('has no 60 s limit (the engine gives every Task one; a Map has none in AWS): it is bounded by the execution, within what a timer holds', () => {
    const { definition, maps } = standInForDistributedMaps(synthesizeDefinition().definition);
    const task = (definition['States'] as Record<string, Record<string, unknown>>)['OptimizeIndexes']!;
    expect([...maps.keys()]).toEqual(['OptimizeIndexes']);
    expect(task['Type']).toBe('Task');
    // The state machine's own bound: twelve hours of work after the longest approval wait.
    expect(task['TimeoutSeconds']).toBe((12 + MAX_APPROVAL_TIMEOUT_HOURS) * 3600);
    expect(task['Catch']).toEqual(maps.get('OptimizeIndexes')!['Catch']);
    expect(task['ResultPath']).toBe('$.mapRun');
  });

  it('templates take $ from the input and $$ from the context, and refuse a path that is not there as States.Runtime', () => {
    const out = applyTemplate({ 'id.$': '$$.Map.Item.Value', 'n.$': '$.a.b[1]', fixed: { x: 1 } }, { a: { b: [5, 6] } }, { Map: { Item: { Value: 'ix' } } });
    expect(out).toEqual({ id: 'ix', n: 6, fixed: { x: 1 } });
    expect(() => applyTemplate({ 'k.$': '$.missing' }, {}, {})).toThrow(expect.objectContaining({ name: 'States.Runtime' }));
  });
});

describe('the local S3 endpoint', () => {
  let aws: LocalAws;
  const dir = mkdtempSync(join(tmpdir(), 'local-s3-'));
  beforeAll(async () => {
    aws = await startLocalAws({ dir });
  });
  afterAll(async () => {
    await aws.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pages a listing of more than 1,000 keys as S3 does, so the store reads every key once', async () => {
    const s3 = new S3Client({ endpoint: aws.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: ADMIN, secretAccessKey: 'x' } });
    await s3.send(new CreateBucketCommand({ Bucket: 'paging-test' }));
    const keys = Array.from({ length: 2_345 }, (_, i) => `runs/sm/e/outcomes/failed/${encodeURIComponent(`id &<${i}`)}.json`);
    for (let i = 0; i < keys.length; i += 100) await Promise.all(keys.slice(i, i + 100).map((Key) => s3.send(new PutObjectCommand({ Bucket: 'paging-test', Key, Body: '{}' }))));
    await s3.send(new PutObjectCommand({ Bucket: 'paging-test', Key: 'runs/sm/other/x.json', Body: '{}' }));
    const before = aws.counts.get(`${ADMIN} s3:ListObjectsV2`) ?? 0;
    const listed = await new S3RunStore('paging-test', s3).list('runs/sm/e/outcomes/');
    expect([...listed].sort()).toEqual([...keys].sort());
    // Three pages of at most 1,000, as S3 serves them.
    expect((aws.counts.get(`${ADMIN} s3:ListObjectsV2`) ?? 0) - before).toBe(3);
  }, 60_000);

  it('refuses a call signed by no principal of the stack, with AccessDenied', async () => {
    const s3 = new S3Client({ endpoint: aws.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'someone-else', secretAccessKey: 'x' } });
    await expect(s3.send(new PutObjectCommand({ Bucket: 'paging-test', Key: 'runs/x.json', Body: '{}' }))).rejects.toMatchObject({ name: 'AccessDenied' });
  });
});

describe('the quotas of one execution', () => {
  it('256 KiB for a payload, counted in UTF-8 bytes as AWS counts them: States.DataLimitExceeded past it', () => {
    const q = new ExecutionQuota('execution x');
    const justUnder = 'é'.repeat((MAX_PAYLOAD_BYTES - 2) / 2);
    expect(() => q.payload('the output of state S', justUnder)).not.toThrow();
    expect(q.maxPayloadBytes).toBe(MAX_PAYLOAD_BYTES);
    expect(() => q.payload('the output of state S', `${justUnder}a`)).toThrow(expect.objectContaining({ name: 'States.DataLimitExceeded', message: expect.stringMatching(/size exceeding the maximum number of bytes service limit: execution x, the output of state S is 262145 bytes/) }));
  });

  it('25,000 history events: the event past it ends the execution with States.Runtime in AWS words', () => {
    const q = new ExecutionQuota('execution y');
    q.events(MAX_HISTORY_EVENTS - 2, 'states');
    expect(() => q.events(1, 'state Z')).toThrow(expect.objectContaining({ name: 'States.Runtime', message: expect.stringMatching(/^The execution reached the maximum number of history events \(25000\): execution y, at state Z$/) }));
  });
});
