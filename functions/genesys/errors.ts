/**
 * Typed Genesys errors. Each `name` is the error name the state machine's Retry/Catch match on
 * (Lambda reports `error.name` as the error type), so they are part of the workflow's contract.
 */

export interface GenesysErrorDetails {
  /** The call that failed, as "METHOD /path" with ids kept, e.g. "PUT /api/v2/search/indexes/abc". */
  endpoint: string;
  status?: number;
  /** Genesys' own error code from the body, e.g. "bad.request". */
  code?: string;
  /** `ININ-Correlation-Id` of the response, for a Genesys support case. */
  correlationId?: string;
}

export abstract class GenesysError extends Error {
  readonly endpoint: string;
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly correlationId: string | undefined;

  constructor(message: string, details: GenesysErrorDetails, options?: { cause?: unknown }) {
    const suffix = details.correlationId ? ` [correlation id ${details.correlationId}]` : '';
    super(`${details.endpoint}: ${message}${suffix}`, options);
    this.endpoint = details.endpoint;
    this.status = details.status;
    this.code = details.code;
    this.correlationId = details.correlationId;
  }

  /** A JSON-safe summary for logs, audit events and state payloads. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      endpoint: this.endpoint,
      status: this.status,
      code: this.code,
      correlationId: this.correlationId,
    };
  }
}

/** 429: wait at least `retryAfterSeconds` before calling again. */
export class RateLimitedError extends GenesysError {
  override name = 'Genesys.RateLimited';
  readonly retryAfterSeconds: number;
  constructor(message: string, details: GenesysErrorDetails, retryAfterSeconds: number) {
    super(message, details);
    this.retryAfterSeconds = retryAfterSeconds;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), retryAfterSeconds: this.retryAfterSeconds };
  }
}

/** 5xx (other than an index's 503), a network error or a timeout: the same call may succeed later. */
export class TransientError extends GenesysError {
  override name = 'Genesys.Transient';
}

/** 503 on an index write: the index is refreshing or the cluster is rebalancing. */
export class IndexBusyError extends GenesysError {
  override name = 'Genesys.IndexBusy';
}

/** 400/409: Genesys refused the request as sent; retrying the same request cannot help. */
export class RejectedError extends GenesysError {
  override name = 'Genesys.Rejected';
}

/** 403: the OAuth client's role lacks a permission. */
export class ForbiddenError extends GenesysError {
  override name = 'Genesys.Forbidden';
  readonly permission: string;
  constructor(message: string, details: GenesysErrorDetails, permission: string) {
    super(message, details);
    this.permission = permission;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), permission: this.permission };
  }
}

export class NotFoundError extends GenesysError {
  override name = 'Genesys.NotFound';
}

/** The login service refused the client credentials, or the API refused a fresh token. */
export class CredentialsInvalidError extends GenesysError {
  override name = 'Genesys.CredentialsInvalid';
}

/** A 2xx response whose body is not what the contract promises. */
export class MalformedResponseError extends GenesysError {
  override name = 'Genesys.MalformedResponse';
}
