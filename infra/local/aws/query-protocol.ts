/**
 * SNS's wire format (the AWS query protocol): form-encoded requests, XML answers. Errors carry the
 * code the SDK maps to its exception (AuthorizationError → AuthorizationErrorException) with the
 * HTTP status SNS gives it.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { escapeXml } from './xml.ts';

const SNS_XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';


/** The parameters of a query request, from its body and its URL (the SDK sends them in the body). */
export function queryParams(url: URL, body: Buffer): URLSearchParams {
  const params = new URLSearchParams(body.toString('utf8'));
  for (const [k, v] of url.searchParams) if (!params.has(k)) params.set(k, v);
  return params;
}

/** `<{Action}Response><{Action}Result>…fields…</{Action}Result><ResponseMetadata>…</ResponseMetadata></{Action}Response>` */
export function queryReply(res: ServerResponse, action: string, result: Record<string, string>): void {
  const fields = Object.entries(result)
    .map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`)
    .join('');
  send(
    res,
    200,
    `<${action}Response xmlns="${SNS_XMLNS}"><${action}Result>${fields}</${action}Result><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`,
  );
}

/** SNS's codes and statuses, as the SDK's model of SNS has them (client errors are `Sender`). */
export const SNS_ERRORS = {
  AuthorizationError: 403,
  NotFound: 404,
  InvalidParameter: 400,
  KMSAccessDenied: 400,
  InvalidAction: 400,
} as const;

export function queryError(res: ServerResponse, code: keyof typeof SNS_ERRORS, message: string): void {
  send(
    res,
    SNS_ERRORS[code],
    `<ErrorResponse xmlns="${SNS_XMLNS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  );
}

function send(res: ServerResponse, status: number, xml: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'text/xml');
  res.setHeader('x-amzn-requestid', randomUUID());
  res.end(`<?xml version="1.0"?>\n${xml}`);
}
