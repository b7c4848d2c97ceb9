// Notifications as AWS delivers them, in local runs: SNS Publish on an encrypted topic, EventBridge
// rules delivering to SNS as events.amazonaws.com, and the task-token callbacks of Step Functions,
// each through the real SDK client against the local endpoint, with IAM evaluated from a small
// synthesized stack (its roles, the topic's policy, the key's policy).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { App, Stack, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CfnRule, EventBus, EventField, Rule, RuleTargetInput } from 'aws-cdk-lib/aws-events';
import { SnsTopic } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { DefinitionBody, Pass, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IamAuthorizer } from '../infra/local/aws/iam.ts';
import { EVENTS_PRINCIPAL, startLocalAws, type LocalAws } from '../infra/local/aws/local-aws.ts';
import { LocalResources } from '../infra/local/aws/resources.ts';

const STACK = 'NotifyStack';
const BUS = 'notify-bus';

/** The stack under test, and the logical ids the assertions need. */
function synthesize() {
  const app = new App();
  const stack = new Stack(app, STACK, { env: { account: '123456789012', region: 'us-east-1' } });
  const id = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as CfnElement);
  const key = new Key(stack, 'Key');
  const topic = new Topic(stack, 'Topic', { masterKey: key, enforceSSL: true });
  const bus = new EventBus(stack, 'Bus', { eventBusName: BUS });
  const rule = new Rule(stack, 'RunFailed', { eventBus: bus, eventPattern: { source: ['optimizer'], detailType: ['RunFinished'], detail: { status: ['FAILED'] } } });
  rule.addTarget(
    new SnsTopic(topic, {
      message: RuleTargetInput.fromMultilineText(`Run ${EventField.fromPath('$.detail.runId')} ended ${EventField.fromPath('$.detail.status')}\nsee "${EventField.fromPath('$.detail.report')}"`),
    }),
  );
  rule.addTarget(
    new SnsTopic(topic, {
      message: RuleTargetInput.fromObject({ run: EventField.fromPath('$.detail.runId'), failed: EventField.fromPath('$.detail.failed'), text: `run ${EventField.fromPath('$.detail.runId')}` }),
    }),
  );
  // A second topic whose policy lets EventBridge publish for one rule only (the confused-deputy guard AWS recommends).
  const plain = new Topic(stack, 'Plain');
  const allowedRule = new CfnRule(stack, 'Allowed', { eventBusName: bus.eventBusName, eventPattern: { 'detail-type': ['Ping'] }, targets: [{ id: 'T', arn: plain.topicArn, input: '"allowed"' }] });
  new CfnRule(stack, 'Other', { eventBusName: bus.eventBusName, eventPattern: { 'detail-type': ['Ping'] }, targets: [{ id: 'T', arn: plain.topicArn, input: '"other"' }] });
  plain.addToResourcePolicy(
    new PolicyStatement({
      principals: [new ServicePrincipal('events.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [plain.topicArn],
      conditions: { ArnEquals: { 'aws:SourceArn': allowedRule.attrArn } },
    }),
  );
  const lambda = () => new ServicePrincipal('lambda.amazonaws.com');
  const granted = new Role(stack, 'Granted', { assumedBy: lambda() });
  topic.grantPublish(granted);
  bus.grantPutEventsTo(granted);
  const ungranted = new Role(stack, 'Ungranted', { assumedBy: lambda() });
  // May publish anywhere, but the key does not let it encrypt.
  const keyless = new Role(stack, 'Keyless', { assumedBy: lambda() });
  keyless.addToPolicy(new PolicyStatement({ actions: ['sns:Publish'], resources: ['*'] }));
  const approval = new StateMachine(stack, 'Approval', { stateMachineName: 'approval', definitionBody: DefinitionBody.fromChainable(new Pass(stack, 'Wait')) });
  const worker = new Role(stack, 'Worker', { assumedBy: lambda() });
  approval.grantTaskResponse(worker);
  const roles = { granted: id(granted), ungranted: id(ungranted), keyless: id(keyless), worker: id(worker) };
  return { template: Template.fromStack(stack).toJSON(), roles, ids: { key: id(key), topic: id(topic), plain: id(plain), rule: id(rule) } };
}

const synthesized = synthesize();
const resources = new LocalResources(synthesized.template, STACK);
const arnOf = (logicalId: string) => resources.byId.get(logicalId)!.arn;
const TOPIC = arnOf(synthesized.ids.topic);
const PLAIN = arnOf(synthesized.ids.plain);
const KEY = arnOf(synthesized.ids.key);
const STATE_MACHINE = resources.only('AWS::StepFunctions::StateMachine').arn;

let aws: LocalAws;
const dir = mkdtempSync(join(tmpdir(), 'local-notify-'));
const config = (principal: string) => ({ endpoint: aws.endpoint, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: principal, secretAccessKey: 'x' } });
const sns = (principal: string) => new SNSClient(config(principal));
const sfn = (principal: string) => new SFNClient(config(principal));
const putEvents = (detailType: string, detail: unknown, source = 'optimizer') =>
  new EventBridgeClient(config('granted')).send(new PutEventsCommand({ Entries: [{ EventBusName: BUS, Source: source, DetailType: detailType, Detail: JSON.stringify(detail) }] }));

beforeAll(async () => {
  aws = await startLocalAws({ dir, recordCalls: true });
  aws.eventBuses.add(BUS);
  aws.resources = resources;
});
beforeEach(() => {
  // Each test starts from the deployment's own policies and nothing published.
  aws.iam = new IamAuthorizer(resources, synthesized.roles);
  aws.published.length = 0;
  aws.denials.length = 0;
});
afterAll(async () => {
  await aws.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SNS Publish', () => {
  it('a role granted topic.grantPublish publishes to the encrypted topic; the message is kept verbatim, and its key use was authorized', async () => {
    const message = 'Plan waits for approval:\n  "idx-1" → optimize\n<b>&amp;</b>';
    const out = await sns('granted').send(new PublishCommand({ TopicArn: TOPIC, Subject: 'Approve the plan', Message: message }));
    expect(out.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(aws.published).toEqual([{ topicArn: TOPIC, subject: 'Approve the plan', message, principal: 'granted', at: expect.any(Number) }]);
    const kms = aws.calls.filter((c) => c.principal === 'granted' && c.service === 'kms').map((c) => `${c.operation} ${c.resource} ${c.allowed}`);
    expect(kms).toEqual(expect.arrayContaining([`GenerateDataKey ${KEY} true`, `Decrypt ${KEY} true`]));
  });

  it('a role without sns:Publish gets AuthorizationError (403), as the SDK names it in AWS; nothing is published', async () => {
    const err = await sns('ungranted').send(new PublishCommand({ TopicArn: TOPIC, Message: 'x' })).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'AuthorizationErrorException', $metadata: { httpStatusCode: 403 } });
    expect((err as Error).message).toMatch(/assumed-role\/.*\/ungranted is not authorized to perform: sns:Publish on resource: arn:aws:sns:/);
    expect(aws.published).toEqual([]);
    expect(aws.denials.map((d) => `${d.principal} ${d.service}:${d.operation} ${d.resource}`)).toEqual([`ungranted sns:Publish ${TOPIC}`]);
  });

  it('a role allowed sns:Publish but not the topic key gets KMSAccessDenied; an unknown topic is NotFound', async () => {
    await expect(sns('keyless').send(new PublishCommand({ TopicArn: TOPIC, Message: 'x' }))).rejects.toMatchObject({ name: 'KMSAccessDeniedException', $metadata: { httpStatusCode: 400 } });
    expect(aws.denials.map((d) => `${d.principal} ${d.service}:${d.operation} ${d.resource}`)).toEqual([`keyless kms:GenerateDataKey ${KEY}`]);
    await expect(sns('keyless').send(new PublishCommand({ TopicArn: `${TOPIC}-gone`, Message: 'x' }))).rejects.toMatchObject({ name: 'NotFoundException', $metadata: { httpStatusCode: 404 } });
    expect(aws.published).toEqual([]);
  });

  it('takes a message of 256 KiB and refuses one byte more, as SNS does (InvalidParameter)', async () => {
    const max = 'é'.repeat(131_072);
    await sns('granted').send(new PublishCommand({ TopicArn: TOPIC, Message: max }));
    await expect(sns('granted').send(new PublishCommand({ TopicArn: TOPIC, Message: `${max}x` }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: 'Invalid parameter: Message too long',
    });
    expect(aws.published.map((m) => m.message.length)).toEqual([131_072]);
  });
});

describe('EventBridge rules deliver to SNS as events.amazonaws.com', () => {
  const failed = { status: 'FAILED', runId: 'run "7"', report: 's3://bucket/r.json', failed: 3 };

  it("a matching event reaches the topic with each target's transformed text: a text template with its quotes, a JSON template as JSON", async () => {
    const out = await putEvents('RunFinished', failed);
    expect(out.FailedEntryCount).toBe(0);
    const messages = aws.published.map((m) => m.message);
    expect(messages).toEqual(['"Run run \\"7\\" ended FAILED"\n"see \\"s3://bucket/r.json\\""', '{"run":"run \\"7\\"","failed":3,"text":"run run \\"7\\""}']);
    expect(JSON.parse(messages[1]!)).toEqual({ run: 'run "7"', failed: 3, text: 'run run "7"' });
    expect(aws.published.every((m) => m.principal === EVENTS_PRINCIPAL && m.topicArn === TOPIC && m.subject === undefined)).toBe(true);
    const rule = arnOf(synthesized.ids.rule);
    expect(rule).toBe(`arn:aws:events:us-east-1:123456789012:rule/${BUS}/${resources.byId.get(synthesized.ids.rule)!.name}`);
    expect(aws.calls.filter((c) => c.principal === EVENTS_PRINCIPAL && c.service === 'sns').every((c) => c.allowed && c.context?.['aws:SourceArn'] === rule)).toBe(true);
  });

  it('a path missing from the event gives no text in its place', async () => {
    const { report: _, ...withoutReport } = failed;
    await putEvents('RunFinished', withoutReport);
    expect(aws.published[0]!.message).toBe('"Run run \\"7\\" ended FAILED"\n"see \\"\\""');
  });

  it('an event the pattern does not match (another status, another source) is not delivered', async () => {
    await putEvents('RunFinished', { ...failed, status: 'SUCCEEDED' });
    await putEvents('RunFinished', failed, 'someone-else');
    await putEvents('RunFinished', { ...failed, status: ['SUCCEEDED', 'FAILED'] });
    // Only the last: an array in the event matches when one of its values does.
    expect(aws.published).toHaveLength(2);
  });

  it('without the topic policy statement for events.amazonaws.com, the delivery is a recorded denial and nothing is published', async () => {
    aws.iam!.withoutServicePrincipal(TOPIC, EVENTS_PRINCIPAL);
    await putEvents('RunFinished', failed);
    expect(aws.published).toEqual([]);
    expect(aws.denials.map((d) => `${d.principal} ${d.service}:${d.operation} ${d.resource} ${d.allowed}`)).toEqual([
      `${EVENTS_PRINCIPAL} sns:Publish ${TOPIC} false`,
      `${EVENTS_PRINCIPAL} sns:Publish ${TOPIC} false`,
    ]);
  });

  it("without the key policy statement for events.amazonaws.com, SNS cannot encrypt for EventBridge: a denial, nothing published", async () => {
    aws.iam!.withoutServicePrincipal(KEY, EVENTS_PRINCIPAL);
    await putEvents('RunFinished', failed);
    expect(aws.published).toEqual([]);
    expect(aws.denials.map((d) => `${d.principal} ${d.service}:${d.operation} ${d.resource}`)).toEqual([
      `${EVENTS_PRINCIPAL} kms:GenerateDataKey ${KEY}`,
      `${EVENTS_PRINCIPAL} kms:GenerateDataKey ${KEY}`,
    ]);
  });

  it("a topic policy conditioned on the rule's ARN lets that rule publish and refuses another rule", async () => {
    await putEvents('Ping', {});
    expect(aws.published.map((m) => `${m.topicArn} ${m.message}`)).toEqual([`${PLAIN} "allowed"`]);
    expect(aws.denials).toEqual([expect.objectContaining({ principal: EVENTS_PRINCIPAL, resource: PLAIN, context: expect.objectContaining({ 'aws:SourceArn': expect.stringMatching(/:rule\/notify-bus\/Other$/) }) })]);
  });

  it('refuses, when the deployment is set, a pattern operator it does not implement', () => {
    const template = structuredClone(synthesized.template);
    template.Resources[synthesized.ids.rule].Properties.EventPattern.detail.status = [{ prefix: 'FAIL' }];
    expect(() => (aws.resources = new LocalResources(template, STACK))).toThrow(/content filter \{"prefix":"FAIL"\}.*only exact values/);
    expect(aws.resources).toBe(resources);
  });
});

describe('Step Functions task-token callbacks', () => {
  const token = (n: number) => `AQB4AAAAKgAAAAMAAAAAAAAAAe${n}xKq7oE+3FdWK/local/${'T'.repeat(40)}==`;
  const tokens = [1, 2, 3, 4, 5, 6].map(token);

  it('SendTaskSuccess resolves the awaited callback with its output; the task is then closed (TaskTimedOut, as AWS answers a used token)', async () => {
    const decided = aws.callbacks.await(tokens[0]!, STATE_MACHINE);
    await sfn('worker').send(new SendTaskSuccessCommand({ taskToken: tokens[0], output: '{"status":"approved","by":"ops"}' }));
    await expect(decided).resolves.toEqual({ kind: 'success', output: '{"status":"approved","by":"ops"}' });
    await expect(sfn('worker').send(new SendTaskSuccessCommand({ taskToken: tokens[0], output: '{}' }))).rejects.toMatchObject({
      name: 'TaskTimedOut',
      message: "Task Timed Out: 'Provided task does not exist anymore'",
    });
    await expect(sfn('worker').send(new SendTaskHeartbeatCommand({ taskToken: tokens[0] }))).rejects.toMatchObject({ name: 'TaskTimedOut' });
  });

  it('an output that is not JSON is InvalidOutput and leaves the task open; SendTaskFailure then resolves it as a failure', async () => {
    const decided = aws.callbacks.await(tokens[1]!, STATE_MACHINE);
    await expect(sfn('worker').send(new SendTaskSuccessCommand({ taskToken: tokens[1], output: 'approved' }))).rejects.toMatchObject({ name: 'InvalidOutput' });
    await sfn('worker').send(new SendTaskHeartbeatCommand({ taskToken: tokens[1] }));
    await sfn('worker').send(new SendTaskFailureCommand({ taskToken: tokens[1], error: 'Rejected', cause: 'not this week' }));
    await expect(decided).resolves.toEqual({ kind: 'failure', error: 'Rejected', cause: 'not this week' });
  });

  it('a token never issued is InvalidToken; a cancelled one is closed', async () => {
    await expect(sfn('worker').send(new SendTaskSuccessCommand({ taskToken: tokens[2], output: '{}' }))).rejects.toMatchObject({ name: 'InvalidToken' });
    void aws.callbacks.await(tokens[3]!, STATE_MACHINE);
    aws.callbacks.cancel(tokens[3]!);
    await expect(sfn('worker').send(new SendTaskFailureCommand({ taskToken: tokens[3] }))).rejects.toMatchObject({ name: 'TaskTimedOut' });
  });

  it("IAM authorizes a callback on the token's state machine: a role without grantTaskResponse is denied, and the denial names the state machine", async () => {
    const decided = aws.callbacks.await(tokens[4]!, STATE_MACHINE);
    const err = await sfn('granted').send(new SendTaskSuccessCommand({ taskToken: tokens[4], output: '{}' })).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'AccessDeniedException' });
    expect((err as Error).message).toContain(`not authorized to perform: states:SendTaskSuccess on resource: ${STATE_MACHINE}`);
    expect(aws.denials.map((d) => `${d.principal} ${d.service}:${d.operation} ${d.resource}`)).toEqual([`granted states:SendTaskSuccess ${STATE_MACHINE}`]);
    await sfn('worker').send(new SendTaskSuccessCommand({ taskToken: tokens[4], output: '{}' }));
    await expect(decided).resolves.toMatchObject({ kind: 'success' });
  });

  it('no token appears in what the endpoint recorded', () => {
    const recorded = JSON.stringify([aws.calls, aws.denials, [...aws.counts]]);
    for (const t of tokens) expect(recorded).not.toContain(t);
    expect(aws.calls.filter((c) => c.service === 'states').every((c) => c.resource === STATE_MACHINE)).toBe(true);
  });
});
