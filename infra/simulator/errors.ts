// Error bodies in the shapes Genesys Cloud uses, so clients are tested against the real thing:
// the platform's standard error for API hosts, the OAuth error for the login host.

const CODES: Record<number, string> = {
  400: 'bad.request',
  401: 'bad.credentials',
  403: 'missing.permissions',
  404: 'not.found',
  405: 'method.not.allowed',
  409: 'conflict',
  413: 'request.entity.too.large',
  415: 'unsupported.media.type',
  429: 'too.many.requests.retry.after',
  500: 'internal.server.error',
  502: 'bad.gateway',
  503: 'service.unavailable',
  504: 'gateway.timeout',
};

const MESSAGES: Record<number, string> = {
  400: 'The request could not be understood by the server due to malformed syntax.',
  401: 'Invalid login credentials.',
  403: 'You are not authorized to perform the requested action.',
  404: 'The requested resource was not found.',
  409: 'The request conflicts with the current state of the resource.',
  429: 'Rate limit exceeded the maximum. Retry the request in [1] seconds',
  500: 'The server encountered an unexpected condition which prevented it from fulfilling the request.',
  502: 'The server received an invalid response from an upstream server.',
  503: 'Service Unavailable - The server is currently unavailable (because it is overloaded or down for maintenance).',
  504: 'The server did not receive a timely response from an upstream server.',
};

export function codeFor(status: number): string {
  return CODES[status] ?? (status >= 500 ? 'internal.server.error' : 'bad.request');
}

export function defaultMessageFor(status: number): string {
  return MESSAGES[status] ?? `Simulated HTTP ${status}.`;
}

export interface ErrorOptions {
  code?: string;
  messageWithParams?: string;
  messageParams?: Record<string, string>;
  entityId?: string;
  details?: unknown[];
  limit?: { key: string; namespace: string; value: number };
}

export function errorBody(status: number, message: string, contextId: string, opts: ErrorOptions = {}): Record<string, unknown> {
  const body: Record<string, unknown> = {
    message,
    code: opts.code ?? codeFor(status),
    status,
    contextId,
    messageWithParams: opts.messageWithParams ?? message,
    messageParams: opts.messageParams ?? {},
    details: opts.details ?? [],
    errors: [],
  };
  if (opts.entityId !== undefined) body.entityId = opts.entityId;
  if (opts.limit !== undefined) body.limit = opts.limit;
  return body;
}

export function rateLimitBody(retryAfterSeconds: number, contextId: string, limit?: number): Record<string, unknown> {
  return errorBody(429, `Rate limit exceeded the maximum. Retry the request in [${retryAfterSeconds}] seconds`, contextId, {
    messageWithParams: 'Rate limit exceeded the maximum. Retry the request in [{retryAfter}] seconds',
    messageParams: { retryAfter: String(retryAfterSeconds) },
    ...(limit === undefined
      ? {}
      : { limit: { key: 'client.credentials.token.rate.per.minute', namespace: 'platform.api', value: limit } }),
  });
}

export function oauthErrorBody(error: string, description: string): Record<string, unknown> {
  return { error, description, error_description: description };
}
