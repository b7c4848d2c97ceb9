// Request validation that mirrors what the real API rejects with 400. Each check returns the
// message to serve, naming the offending field, or undefined when the input is acceptable.

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses a positive integer query parameter; absent → the default. */
export function pageParam(raw: string | null, name: string, dflt: number): number | string {
  if (raw === null) return dflt;
  if (!/^[0-9]+$/.test(raw) || Number(raw) < 1 || !Number.isSafeInteger(Number(raw))) {
    return `Query parameter ${name} must be a positive integer, got "${raw}"`;
  }
  return Number(raw);
}

export function checkDirectives(body: unknown): string | undefined {
  if (!isObject(body)) return 'Request body must be a JSON object of optimization directives';
  if (body.refreshPolicy === undefined) return 'refreshPolicy is required';
  if (typeof body.refreshPolicy !== 'string' || body.refreshPolicy === '') {
    return 'refreshPolicy must be a non-empty string';
  }
  return undefined;
}

// ISO-8601 date-time with an explicit offset or Z, as the analytics API expects.
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

export function checkConversationQuery(body: unknown): string | undefined {
  if (!isObject(body)) return 'Request body must be a JSON object';
  const { interval, paging, order } = body;
  if (interval === undefined) return 'interval is required';
  if (typeof interval !== 'string') return 'interval must be a string';
  const parts = interval.split('/');
  const [start, end] = parts;
  if (parts.length !== 2 || start === undefined || end === undefined || !ISO_DATE_TIME.test(start) || !ISO_DATE_TIME.test(end)) {
    return `interval must be an ISO-8601 interval of two date-times "start/end", got "${interval}"`;
  }
  const s = Date.parse(start);
  const e = Date.parse(end);
  if (Number.isNaN(s) || Number.isNaN(e)) return `interval contains an invalid date-time: "${interval}"`;
  if (s >= e) return `interval start must be before its end, got "${interval}"`;
  if (paging !== undefined) {
    if (!isObject(paging)) return 'paging must be an object with pageSize and pageNumber';
    for (const field of ['pageSize', 'pageNumber'] as const) {
      const v = paging[field];
      if (v === undefined) return `paging.${field} is required when paging is given`;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) return `paging.${field} must be a positive integer`;
    }
    if ((paging.pageSize as number) > 100) return 'paging.pageSize must be at most 100';
  }
  if (order !== undefined && order !== 'asc' && order !== 'desc') return 'order must be "asc" or "desc"';
  return undefined;
}
