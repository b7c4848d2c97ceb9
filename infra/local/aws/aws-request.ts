/**
 * What an AWS API request asks for, in IAM's terms: the service (from the SigV4 credential
 * scope), the API operation, and the action, resource ARN and condition keys IAM evaluates.
 * Covers the operations the optimizer and Step Functions make on its behalf.
 */
import { queryParams } from './query-protocol.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './resources.ts';

export interface ParsedRequest {
  service: string;
  operation: string;
  /** One entry per resource the request touches (PutEvents may name several buses). */
  checks: Array<{ action: string; resource: string; context?: Record<string, string> }>;
  /** JSON protocols: the parsed body; SNS (query protocol): the parameters served. */
  body?: Record<string, unknown>;
  /** S3: bucket and key. */
  bucket?: string;
  key?: string;
}

export function serviceOf(authorization: string | undefined): string | null {
  const m = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(authorization ?? '');
  return m ? m[1]! : null;
}

const JSON_PREFIX: Record<string, string> = {
  dynamodb: 'DynamoDB_20120810.',
  secretsmanager: 'secretsmanager.',
  events: 'AWSEvents.',
  states: 'AWSStepFunctions.',
};

/** S3 path-style: /bucket/key?query → action and resource. */
function s3Request(method: string, url: URL): ParsedRequest {
  const [, bucket = '', ...rest] = url.pathname.split('/');
  const key = rest.length > 0 ? decodeURIComponent(rest.join('/')) : undefined;
  const q = url.searchParams;
  const bucketArn = `arn:aws:s3:::${bucket}`;
  const objectArn = `${bucketArn}/${key ?? ''}`;
  const check = (operation: string, action: string, resource: string, context?: Record<string, string>): ParsedRequest => ({
    service: 's3',
    operation,
    checks: [{ action, resource, ...(context ? { context } : {}) }],
    bucket,
    ...(key !== undefined ? { key } : {}),
  });
  if (key === undefined || key === '') {
    if (method === 'GET' && (q.get('list-type') === '2' || q.has('prefix') || url.search === '')) {
      return check('ListObjectsV2', 's3:ListBucket', bucketArn, { 's3:prefix': q.get('prefix') ?? '' });
    }
    if (method === 'PUT') return check('CreateBucket', 's3:CreateBucket', bucketArn);
    if (method === 'HEAD') return check('HeadBucket', 's3:ListBucket', bucketArn);
    if (method === 'DELETE') return check('DeleteBucket', 's3:DeleteBucket', bucketArn);
    throw new Error(`S3 bucket request ${method} ${url.pathname}${url.search} is not one a local run knows`);
  }
  if (method === 'GET' || method === 'HEAD') return check(method === 'GET' ? 'GetObject' : 'HeadObject', 's3:GetObject', objectArn);
  if (method === 'PUT' || (method === 'POST' && (q.has('uploads') || q.has('uploadId')))) return check('PutObject', 's3:PutObject', objectArn);
  if (method === 'DELETE') return check(q.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject', q.has('uploadId') ? 's3:AbortMultipartUpload' : 's3:DeleteObject', objectArn);
  throw new Error(`S3 object request ${method} ${url.pathname}${url.search} is not one a local run knows`);
}

/** The parameters of SNS Publish a local run serves: to a topic, a message and its subject. */
const PUBLISH_PARAMS = new Set(['Action', 'Version', 'TopicArn', 'Message', 'Subject']);

function snsRequest(url: URL, rawBody: Buffer): ParsedRequest {
  const params = queryParams(url, rawBody);
  const operation = params.get('Action') ?? '';
  if (operation !== 'Publish') throw new Error(`sns:${operation} is not served by the local AWS endpoint`);
  const others = [...params.keys()].filter((k) => !PUBLISH_PARAMS.has(k));
  if (others.length > 0) throw new Error(`SNS Publish with ${others.join(', ')} is not one a local run serves`);
  const topicArn = params.get('TopicArn');
  if (!topicArn) throw new Error('SNS Publish without a TopicArn (to a phone number or an endpoint) is not one a local run serves');
  const body: Record<string, unknown> = { TopicArn: topicArn, Message: params.get('Message') ?? '' };
  if (params.has('Subject')) body['Subject'] = params.get('Subject');
  return { service: 'sns', operation, body, checks: [{ action: 'sns:Publish', resource: topicArn }] };
}

/** The task-token callbacks: IAM authorizes them on the token's state machine (see iam.ts). */
const CALLBACKS = new Set(['SendTaskSuccess', 'SendTaskFailure', 'SendTaskHeartbeat']);

function arnFor(
  service: string,
  operation: string,
  body: Record<string, unknown>,
  secretArns: Map<string, string>,
  stateMachineOfToken: (token: string) => string | undefined,
): Array<{ action: string; resource: string }> {
  const action = `${service}:${operation}`;
  switch (service) {
    case 'dynamodb':
      return [{ action, resource: `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT}:table/${String(body['TableName'])}` }];
    case 'secretsmanager': {
      const id = String(body['SecretId']);
      // A secret may be named by its name or its ARN; IAM sees the ARN.
      return [{ action, resource: secretArns.get(id) ?? (id.startsWith('arn:') ? id : `arn:aws:secretsmanager:${LOCAL_REGION}:${LOCAL_ACCOUNT}:secret:${id}`) }];
    }
    case 'events': {
      const entries = (body['Entries'] as Array<{ EventBusName?: string }> | undefined) ?? [];
      const buses = [...new Set(entries.map((e) => e.EventBusName ?? 'default'))];
      return buses.map((b) => ({ action, resource: b.startsWith('arn:') ? b : `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:event-bus/${b}` }));
    }
    case 'states': {
      if (CALLBACKS.has(operation)) {
        // A token Step Functions never issued cannot be decoded, so names no resource to authorize on: the answer is InvalidToken.
        const stateMachine = stateMachineOfToken(String(body['taskToken'] ?? ''));
        return stateMachine ? [{ action, resource: stateMachine }] : [];
      }
      const resource = String(body['executionArn'] ?? body['stateMachineArn'] ?? body['mapRunArn'] ?? '*');
      return [{ action, resource }];
    }
    default:
      throw new Error(`service ${service} is not one a local run serves`);
  }
}

export function parseAwsRequest(
  method: string,
  url: URL,
  headers: Record<string, string | string[] | undefined>,
  rawBody: Buffer,
  secretArns: Map<string, string>,
  stateMachineOfToken: (token: string) => string | undefined = () => undefined,
): ParsedRequest {
  const service = serviceOf(headers['authorization'] as string | undefined);
  if (!service) throw new Error('the request is not signed with AWS Signature Version 4');
  if (service === 's3') return s3Request(method, url);
  if (service === 'sns') return snsRequest(url, rawBody);
  const target = String(headers['x-amz-target'] ?? '');
  const prefix = JSON_PREFIX[service];
  if (!prefix || !target.startsWith(prefix)) throw new Error(`${service} request with X-Amz-Target ${target} is not one a local run serves`);
  const operation = target.slice(prefix.length);
  let body: Record<string, unknown> = {};
  try {
    if (rawBody.length > 0) body = JSON.parse(rawBody.toString('utf8')) as Record<string, unknown>;
  } catch {
    // Not the parser's message: it quotes the body, which may hold a task token.
    throw new Error(`the ${service}:${operation} request body is not JSON`);
  }
  return { service, operation, body, checks: arnFor(service, operation, body, secretArns, stateMachineOfToken) };
}
