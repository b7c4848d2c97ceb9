// Fixed-window request budget per access token, like the platform's
// client.credentials.token.rate.per.minute. A fixed window (not a sliding one) keeps
// inin-ratelimit-reset and Retry-After exact, which is what tests assert on.

export interface RateDecision {
  allowed: boolean;
  /** Requests counted in the current window, this one included. */
  count: number;
  limit: number;
  /** Whole seconds until the window resets (at least 1 while a window is open). */
  resetSeconds: number;
}

export class RateLimiter {
  private readonly windows = new Map<string, { startedAt: number; count: number }>();
  private readonly limit: number;
  private readonly windowMs: number;

  constructor(limit: number, windowSeconds: number) {
    this.limit = limit;
    this.windowMs = windowSeconds * 1000;
  }

  take(key: string, now = Date.now()): RateDecision {
    let w = this.windows.get(key);
    if (w === undefined || now >= w.startedAt + this.windowMs) {
      w = { startedAt: now, count: 0 };
      this.windows.set(key, w);
    }
    w.count += 1;
    const resetSeconds = Math.max(1, Math.ceil((w.startedAt + this.windowMs - now) / 1000));
    return { allowed: w.count <= this.limit, count: w.count, limit: this.limit, resetSeconds };
  }
}
