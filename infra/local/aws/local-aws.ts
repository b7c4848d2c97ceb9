/**
 * The AWS a local run talks to: one endpoint on loopback (AWS_ENDPOINT_URL) in front of
 * real-protocol servers for S3 (s3rver) and DynamoDB (dynalite), and small emulations, speaking
 * the services' own protocols, of the calls the optimizer makes to Secrets Manager
 * (GetSecretValue), EventBridge (PutEvents, and the deployment's rules delivering to SNS topics),
 * SNS (Publish) and Step Functions (ListExecutions, DescribeExecution, and the task-token
 * callbacks). Every request is first evaluated against its principal's IAM policies from the
 * synthesized template; a denied call gets the AccessDenied answer AWS gives, in the service's
 * protocol, so the SDK throws what it would throw in AWS.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import { parseAwsRequest, serviceOf, type ParsedRequest } from './aws-request.ts';
import { eventOf, rulesOf, type EventRule, type PutEventsEntry } from './event-rules.ts';
import type { IamAuthorizer } from './iam.ts';
import { escapeXml, unescapeXml } from './xml.ts';
import { notifications, type Authorize } from './notifications.ts';
import { queryError, queryReply } from './query-protocol.ts';
import { busNameOf, type LocalResources } from './resources.ts';
import { topicsOf, type PublishedMessage, type Topic } from './sns-topics.ts';
import { TaskCallbackRegistry, type TaskCallbacks } from './task-callbacks.ts';

export { EVENTS_PRINCIPAL } from './notifications.ts';
export type { PublishedMessage } from './sns-topics.ts';
export type { TaskCallback, TaskCallbacks } from './task-callbacks.ts';

/** The runner's own calls (creating the bucket and table, reading a report back) are signed as this. */
export const ADMIN = 'local-admin';


export interface RecordedCall {
  principal: string;
  service: string;
  operation: string;
  resource: string;
  /** The condition keys IAM saw (s3:prefix of a listing). */
  context?: Record<string, string>;
  allowed: boolean;
  at: number;
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface LocalExecution {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  startDate: string;
  input: string;
  pid: number;
  /** Absent or RUNNING while it runs; how it ended once it did (DescribeExecution still answers for it). */
  status?: ExecutionStatus;
  stopDate?: string;
}

export interface SecretValue {
  /** The secret's string, or a Secrets Manager error to answer with. */
  secretString?: string;
  error?: { type: string; message: string };
}

export interface LocalAwsOptions {
  /** Where S3 objects and the execution registry are kept. */
  dir: string;
  /** Keep every call (tests, the bench); denials are always kept. */
  recordCalls?: boolean;
}

export interface LocalAws {
  endpoint: string;
  /** The policies calls are evaluated against (the deployment's; a run may narrow them). */
  iam: IamAuthorizer | null;
  /**
   * The deployment: its topics and its EventBridge rules, read when set. A rule a local run would
   * not deliver as EventBridge does (see event-rules.ts) makes setting it throw.
   */
  resources: LocalResources | null;
  /** Secrets by ARN, and the ARN of each secret name (a call may name a secret either way). */
  secrets: Map<string, SecretValue>;
  secretArns: Map<string, string>;
  eventBuses: Set<string>;
  /** Directory holding the S3 server's objects (`<dir>/<bucket>/<key>._S3rver_object`). */
  s3Dir: string;
  calls: RecordedCall[];
  denials: RecordedCall[];
  /** Counts per "principal service:Operation". */
  counts: Map<string, number>;
  events: PutEventsEntry[];
  /** Every message SNS took, from a principal's Publish or a rule's delivery. */
  published: PublishedMessage[];
  /** The tokens of `.waitForTaskToken` tasks, and the callbacks sent with them. */
  callbacks: TaskCallbacks;
  /**
   * Step Functions' list of executions, as the run guard sees it: `register` lists one as RUNNING
   * and returns what records its end (default SUCCEEDED). An ended execution is still described,
   * as in AWS, where a run that ends between the guard's ListExecutions and its DescribeExecution
   * is still there; it is forgotten an hour after its end.
   */
  executions: { register(e: LocalExecution): (status?: Exclude<ExecutionStatus, 'RUNNING'>) => void };
  /** Work to do before the servers stop (the runner's function workers). */
  onClose(work: () => Promise<void>): void;
  close(): Promise<void>;
}

const EXECUTIONS_DIR = 'executions';
/** How long an ended execution stays describable locally (AWS: 90 days; the run guard needs moments). */
const ENDED_KEPT_MS = 60 * 60 * 1000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const JSON_VERSION: Record<string, string> = { dynamodb: '1.0', states: '1.0', secretsmanager: '1.1', events: '1.1' };

function jsonReply(res: ServerResponse, service: string, status: number, body: unknown, errorType?: string): void {
  res.statusCode = status;
  res.setHeader('content-type', `application/x-amz-json-${JSON_VERSION[service] ?? '1.1'}`);
  res.setHeader('x-amzn-requestid', randomUUID());
  if (errorType) res.setHeader('x-amzn-errortype', errorType);
  res.end(JSON.stringify(body));
}

function jsonError(res: ServerResponse, service: string, type: string, message: string, status = 400): void {
  jsonReply(res, service, status, { __type: type, message, Message: message }, type);
}

/** The task-token callbacks, answered in Step Functions' words (see task-callbacks.ts). */
const CALLBACK_ERRORS = {
  unknown: ['InvalidToken', 'The provided token is not valid.'],
  closed: ['TaskTimedOut', "Task Timed Out: 'Provided task does not exist anymore'"],
  invalidOutput: ['InvalidOutput', 'The provided JSON output data is not valid.'],
} as const;

function s3Error(res: ServerResponse, status: number, code: string, message: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/xml');
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message><RequestId>${randomUUID()}</RequestId></Error>`);
}

function proxy(req: IncomingMessage, res: ServerResponse, body: Buffer, port: number, stripAuth: boolean): void {
  const headers = { ...req.headers };
  // s3rver checks signatures against its own keys; IAM was evaluated here already.
  if (stripAuth) {
    delete headers['authorization'];
    delete headers['x-amz-security-token'];
  }
  headers['content-length'] = String(body.length);
  const upstream = httpRequest({ host: '127.0.0.1', port, method: req.method, path: req.url, headers }, (up) => {
    res.writeHead(up.statusCode ?? 500, up.headers);
    up.pipe(res);
  });
  upstream.on('error', (err) => {
    res.statusCode = 502;
    res.end(String(err));
  });
  upstream.end(body);
}

/** S3's page size for ListObjectsV2. */
const S3_MAX_KEYS = 1000;

/**
 * ListObjectsV2 with S3's paging. s3rver makes its V2 continuation tokens with DES, which current
 * OpenSSL (Node 17+) no longer has: any V2 listing of more than a page fails with InternalError.
 * So the endpoint lists through s3rver's V1 (marker) paging and answers in V2's form, with S3's
 * fields (KeyCount, IsTruncated, NextContinuationToken), so paging code runs as against S3.
 */
function listObjectsV2(res: ServerResponse, url: URL, port: number): void {
  const q = url.searchParams;
  const maxKeys = Math.min(S3_MAX_KEYS, Number(q.get('max-keys') ?? S3_MAX_KEYS));
  const token = q.get('continuation-token');
  const startAfter = token ? Buffer.from(token, 'base64url').toString('utf8') : (q.get('start-after') ?? '');
  if (q.has('delimiter')) throw new Error('ListObjectsV2 with a delimiter is not one a local run serves');
  const upstream = new URLSearchParams({ 'max-keys': String(maxKeys) });
  if (q.has('prefix')) upstream.set('prefix', q.get('prefix')!);
  if (startAfter) upstream.set('marker', startAfter);
  const forward = httpRequest({ host: '127.0.0.1', port, method: 'GET', path: `${url.pathname}?${upstream}` }, async (up) => {
    const body = (await readBody(up)).toString('utf8');
    if (up.statusCode !== 200) {
      res.writeHead(up.statusCode ?? 500, up.headers);
      return res.end(body);
    }
    const page = body.match(/<Contents>[\s\S]*?<\/Contents>/g) ?? [];
    const truncated = /<IsTruncated>true<\/IsTruncated>/.test(body);
    const lastKey = page.length ? unescapeXml(/<Key>([\s\S]*?)<\/Key>/.exec(page[page.length - 1]!)![1]!) : '';
    const bucket = url.pathname.split('/')[1] ?? '';
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      `<Name>${escapeXml(bucket)}</Name><Prefix>${escapeXml(q.get('prefix') ?? '')}</Prefix><KeyCount>${page.length}</KeyCount>` +
      `<MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${truncated}</IsTruncated>` +
      (token ? `<ContinuationToken>${escapeXml(token)}</ContinuationToken>` : '') +
      (truncated ? `<NextContinuationToken>${Buffer.from(lastKey, 'utf8').toString('base64url')}</NextContinuationToken>` : '') +
      `${page.join('')}</ListBucketResult>`;
    res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
    res.end(xml);
  });
  forward.on('error', (err) => {
    res.statusCode = 502;
    res.end(String(err));
  });
  forward.end();
}

export async function startLocalAws(options: LocalAwsOptions): Promise<LocalAws> {
  const s3Dir = join(options.dir, 's3');
  mkdirSync(s3Dir, { recursive: true });
  const executionsDir = join(options.dir, EXECUTIONS_DIR);
  mkdirSync(executionsDir, { recursive: true });
  const s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3Dir });
  const s3Address = (await s3.run()) as AddressInfo;
  const db = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => db.listen(0, '127.0.0.1', () => resolve()));
  const dbPort = (db.address() as AddressInfo).port;

  const secrets = new Map<string, SecretValue>();
  const secretArns = new Map<string, string>();
  const buses = new Set<string>();
  const calls: RecordedCall[] = [];
  const denials: RecordedCall[] = [];
  const counts = new Map<string, number>();
  const events: LocalAws['events'] = [];
  const published: PublishedMessage[] = [];
  const callbacks = new TaskCallbackRegistry();
  let resources: LocalResources | null = null;
  let deployment: { topics: Map<string, Topic>; rules: EventRule[] } = { topics: new Map(), rules: [] };

  /** Every execution known, with its status now: one whose process is gone is not running any more. */
  const knownExecutions = (): Array<LocalExecution & { status: ExecutionStatus }> => {
    const out: Array<LocalExecution & { status: ExecutionStatus }> = [];
    for (const file of readdirSync(executionsDir).filter((f) => f.endsWith('.json'))) {
      try {
        const e = JSON.parse(readFileSync(join(executionsDir, file), 'utf8')) as LocalExecution;
        const status: ExecutionStatus = e.status && e.status !== 'RUNNING' ? e.status : alive(e.pid) ? 'RUNNING' : 'ABORTED';
        out.push({ ...e, status });
      } catch {
        // Removed right now.
      }
    }
    return out;
  };
  const listExecutions = (): LocalExecution[] => knownExecutions().filter((e) => e.status === 'RUNNING');
  /** Written whole or not at all: a reader never sees half a file. */
  const writeExecution = (e: LocalExecution) => {
    const file = join(executionsDir, `${e.name}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(e));
    renameSync(`${file}.tmp`, file);
  };

  const local = {} as LocalAws;

  const authorize: Authorize = async (principal, service, operation, check, asService = false) => {
    const decision =
      principal === ADMIN
        ? { allowed: true, message: '' }
        : principal && local.iam
          ? await (asService ? local.iam.authorizeService(principal, check) : local.iam.authorize(principal, check))
          : { allowed: false, message: `the request is signed by ${principal || 'no one'}, not a principal of this stack (${check.action} on ${check.resource})` };
    const call: RecordedCall = {
      principal: principal || '(none)',
      service,
      operation,
      resource: check.resource,
      ...(check.context ? { context: check.context as Record<string, string> } : {}),
      allowed: decision.allowed,
      at: Date.now(),
    };
    if (options.recordCalls) calls.push(call);
    const countKey = `${call.principal} ${service}:${operation}`;
    counts.set(countKey, (counts.get(countKey) ?? 0) + 1);
    if (!decision.allowed) denials.push(call);
    return decision;
  };

  const notify = notifications({ topics: () => deployment.topics, authorize, published, newId: randomUUID });

  const serveCallback = (parsed: ParsedRequest, res: ServerResponse): void => {
    const body = parsed.body ?? {};
    const token = String(body['taskToken'] ?? '');
    const fail = (kind: keyof typeof CALLBACK_ERRORS) => jsonError(res, 'states', CALLBACK_ERRORS[kind][0], CALLBACK_ERRORS[kind][1]);
    if (parsed.operation === 'SendTaskSuccess') {
      const output = body['output'];
      try {
        if (typeof output !== 'string') throw new TypeError('no output');
        JSON.parse(output);
      } catch {
        return fail('invalidOutput');
      }
    }
    const state = callbacks.state(token);
    if (state !== 'open') return fail(state);
    if (parsed.operation === 'SendTaskSuccess') callbacks.complete(token, { kind: 'success', output: body['output'] as string });
    if (parsed.operation === 'SendTaskFailure') {
      const { error, cause } = body as { error?: string; cause?: string };
      callbacks.complete(token, { kind: 'failure', ...(error !== undefined ? { error } : {}), ...(cause !== undefined ? { cause } : {}) });
    }
    return jsonReply(res, 'states', 200, {});
  };

  const serve = async (parsed: ParsedRequest, res: ServerResponse, principal: string): Promise<void> => {
    const body = parsed.body ?? {};
    const { service, operation } = parsed;
    if (service === 'sns' && operation === 'Publish') {
      const subject = body['Subject'] as string | undefined;
      const outcome = await notify.publish(String(body['TopicArn']), String(body['Message']), subject, principal);
      if ('error' in outcome) return queryError(res, outcome.error, outcome.message);
      return queryReply(res, 'Publish', { MessageId: outcome.messageId });
    }
    if (service === 'states' && operation.startsWith('SendTask')) return serveCallback(parsed, res);
    if (service === 'secretsmanager' && operation === 'GetSecretValue') {
      const id = String(body['SecretId']);
      const secret = secrets.get(id) ?? secrets.get(secretArns.get(id) ?? '');
      if (!secret) return jsonError(res, service, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
      if (secret.error) return jsonError(res, service, secret.error.type, secret.error.message);
      const arn = secretArns.get(id) ?? id;
      return jsonReply(res, service, 200, { ARN: arn, Name: arn.split(':').pop()?.replace(/-[A-Za-z0-9]{6}$/, ''), SecretString: secret.secretString, VersionId: 'local', VersionStages: ['AWSCURRENT'], CreatedDate: Date.now() / 1000 });
    }
    if (service === 'events' && operation === 'PutEvents') {
      const entries = (body['Entries'] as PutEventsEntry[] | undefined) ?? [];
      const results: Array<{ EventId: string } | { ErrorCode: string; ErrorMessage: string }> = [];
      for (const e of entries) {
        const bus = busNameOf(e.EventBusName);
        if (!buses.has(bus)) {
          results.push({ ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Event bus ${e.EventBusName} does not exist.` });
          continue;
        }
        const id = randomUUID();
        const receivedAt = Date.now();
        const event = eventOf(e, id, receivedAt);
        if (!event) {
          results.push({ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' });
          continue;
        }
        events.push(e);
        // EventBridge delivers after PutEvents answers; here before, so that what a run published is complete when its calls return.
        for (const rule of deployment.rules) if (rule.bus === bus && rule.matches(event)) await notify.deliver(event, rule, receivedAt);
        results.push({ EventId: id });
      }
      return jsonReply(res, service, 200, { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results });
    }
    if (service === 'states' && operation === 'ListExecutions') {
      const status = body['statusFilter'];
      const list = listExecutions().filter((e) => e.stateMachineArn === body['stateMachineArn'] && (status === undefined || status === 'RUNNING'));
      return jsonReply(res, service, 200, {
        executions: list.map((e) => ({ executionArn: e.executionArn, stateMachineArn: e.stateMachineArn, name: e.name, status: 'RUNNING', startDate: Date.parse(e.startDate) / 1000 })),
      });
    }
    if (service === 'states' && operation === 'DescribeExecution') {
      const e = knownExecutions().find((x) => x.executionArn === body['executionArn']);
      if (!e) return jsonError(res, service, 'ExecutionDoesNotExist', `Execution Does Not Exist: '${String(body['executionArn'])}'`);
      return jsonReply(res, service, 200, {
        executionArn: e.executionArn,
        stateMachineArn: e.stateMachineArn,
        name: e.name,
        status: e.status,
        startDate: Date.parse(e.startDate) / 1000,
        ...(e.stopDate ? { stopDate: Date.parse(e.stopDate) / 1000 } : {}),
        input: e.input,
      });
    }
    return jsonError(res, service, 'UnknownOperationException', `${service}:${operation} is not served by the local AWS endpoint`);
  };

  const closers: Array<() => Promise<void>> = [];
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://local');
    // The caller is known by its credentials, as AWS knows a role's session: each local function signs with its role's name.
    const principal = /Credential=([^/]+)\//.exec(String(req.headers['authorization'] ?? ''))?.[1] ?? '';
    let parsed: ParsedRequest;
    try {
      parsed = parseAwsRequest(req.method ?? 'GET', url, req.headers, body, secretArns, (token) => callbacks.stateMachineOf(token));
    } catch (err) {
      if (serviceOf(req.headers['authorization']) === 'sns') return queryError(res, 'InvalidAction', (err as Error).message);
      return jsonError(res, 'states', 'InvalidRequest', (err as Error).message);
    }
    for (const check of parsed.checks) {
      const decision = await authorize(principal, parsed.service, parsed.operation, check);
      if (!decision.allowed) {
        if (parsed.service === 's3') return s3Error(res, 403, 'AccessDenied', decision.message);
        if (parsed.service === 'sns') return queryError(res, 'AuthorizationError', decision.message);
        return jsonError(res, parsed.service, 'AccessDeniedException', decision.message);
      }
    }
    if (parsed.service === 's3' && parsed.operation === 'ListObjectsV2') return listObjectsV2(res, url, s3Address.port);
    if (parsed.service === 's3') return proxy(req, res, body, s3Address.port, true);
    if (parsed.service === 'dynamodb') return proxy(req, res, body, dbPort, false);
    return serve(parsed, res, principal);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) jsonError(res, 'states', 'InternalFailure', String(err), 500);
    });
  });
  // Up to 40 Map children and their pacer calls at once, each with keep-alive connections.
  server.maxConnections = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;

  Object.assign(local, {
    endpoint: `http://127.0.0.1:${port}`,
    iam: null,
    secrets,
    secretArns,
    eventBuses: buses,
    s3Dir,
    calls,
    denials,
    counts,
    events,
    published,
    callbacks,
    executions: {
      register: (e) => {
        // Executions that ended long ago are forgotten.
        for (const old of knownExecutions()) {
          if (old.stopDate && Date.now() - Date.parse(old.stopDate) > ENDED_KEPT_MS) rmSync(join(executionsDir, `${old.name}.json`), { force: true });
        }
        writeExecution({ ...e, status: 'RUNNING' });
        return (status = 'SUCCEEDED') => writeExecution({ ...e, status, stopDate: new Date().toISOString() });
      },
    },
    onClose: (work) => {
      closers.push(work);
    },
    close: async () => {
      for (const work of closers.splice(0)) await work();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await s3.close();
      await new Promise<void>((resolve) => db.close(() => resolve()));
    },
  } satisfies Omit<LocalAws, 'resources'>);
  Object.defineProperty(local, 'resources', {
    enumerable: true,
    get: () => resources,
    set: (r: LocalResources | null) => {
      // Read now, so that a rule a local run cannot deliver as EventBridge does fails the run's setup, not one of its events.
      const topics = r ? topicsOf(r) : new Map<string, Topic>();
      deployment = { topics, rules: r ? rulesOf(r, topics) : [] };
      resources = r;
    },
  });
  return local;
}
