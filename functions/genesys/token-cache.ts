import { createHash } from 'node:crypto';

/**
 * Access tokens cached per credentials. One Lambda container serves many invocations, and a
 * token lives for hours, so fetching one per call would waste the org's rate budget.
 */

/** Tokens are dropped this long before they expire so a call never starts with a dying token. */
export const TOKEN_EXPIRY_MARGIN_MS = 60_000;

interface Entry {
  token?: { value: string; expiresAt: number };
  /** Shared by every caller that asks while a token request is under way. */
  inFlight?: Promise<string>;
}

export class TokenCache {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** A key that identifies the credentials without keeping the secret itself around. */
  static keyFor(loginUrl: string, clientId: string, clientSecret: string): string {
    return createHash('sha256').update(`${loginUrl}\0${clientId}\0${clientSecret}`).digest('hex');
  }

  async get(key: string, fetchToken: () => Promise<{ accessToken: string; expiresInSeconds: number }>): Promise<string> {
    const entry = this.entries.get(key) ?? {};
    this.entries.set(key, entry);
    if (entry.token && entry.token.expiresAt - TOKEN_EXPIRY_MARGIN_MS > this.now()) return entry.token.value;
    if (entry.inFlight) return entry.inFlight;
    const requestedAt = this.now();
    entry.inFlight = fetchToken()
      .then((grant) => {
        entry.token = { value: grant.accessToken, expiresAt: requestedAt + grant.expiresInSeconds * 1000 };
        return grant.accessToken;
      })
      .finally(() => {
        delete entry.inFlight;
      });
    return entry.inFlight;
  }

  /** Forget `token` if it is still the cached one (another caller may already have replaced it). */
  invalidate(key: string, token: string): void {
    const entry = this.entries.get(key);
    if (entry?.token?.value === token) delete entry.token;
  }

  /** Every token currently held, so that text can be scrubbed of them. */
  tokens(): string[] {
    const out: string[] = [];
    for (const e of this.entries.values()) if (e.token) out.push(e.token.value);
    return out;
  }

  clear(): void {
    this.entries.clear();
  }
}

/** The container-wide cache the Lambda handlers share between invocations. */
export const sharedTokenCache = new TokenCache();
