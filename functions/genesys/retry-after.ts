/**
 * How long Genesys asked us to wait after a 429. The header is the contract; the body's
 * "[42] seconds" and the rate-limit reset header are fallbacks for proxies that strip it.
 */

/** With no hint at all, wait a whole rate-limit window rather than guess low. */
export const DEFAULT_RETRY_AFTER_SECONDS = 60;

export function parseRetryAfter(headers: Headers, body: unknown, now: number = Date.now()): number {
  const header = headers.get('retry-after')?.trim();
  if (header) {
    if (/^\d+(\.\d+)?$/.test(header)) return Math.max(1, Math.ceil(Number(header)));
    const date = Date.parse(header);
    if (!Number.isNaN(date)) return Math.max(1, Math.ceil((date - now) / 1000));
  }
  if (typeof body === 'object' && body !== null) {
    const message = (body as { message?: unknown }).message;
    const match = typeof message === 'string' ? /\[(\d+)\]/.exec(message) : null;
    if (match?.[1]) return Math.max(1, Number(match[1]));
  }
  const reset = headers.get('inin-ratelimit-reset')?.trim();
  if (reset && /^\d+(\.\d+)?$/.test(reset)) return Math.max(1, Math.ceil(Number(reset)));
  return DEFAULT_RETRY_AFTER_SECONDS;
}
