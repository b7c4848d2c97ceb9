import { createHash } from 'node:crypto';

/**
 * Access tokens cached per credentials. One Lambda container serves many invocations, and a
 * token lives for hours, so fetching one per call would waste the org's rate budget.
 */

/** Tokens are dropped this long before they expire so a call never starts with a dying token. */
export const TOKEN_EXPIRY_MARGIN_MS = 60_000;
/**
 * Tokens no longer served but still scrubbed from text. A token refused with a 401, replaced on
 * expiry or cleared may still be live at Genesys, and a server may echo it after the client moved
 * on (a concurrent call that still sent it, a proxy's delayed error). Bounded because a warm
 * container goes through many tokens, and only the recent ones can still turn up in a response.
 */
export const RETIRED_TOKENS_KEPT = 16;

interface Entry {
  token?: { value: string; expiresAt: number };
  /** Shared by every caller that asks while a token request is under way. */
  inFlight?: Promise<string>;
}

export class TokenCache {
  private readonly entries = new Map<string, Entry>();
  /** Oldest first. */
  private readonly retired: string[] = [];
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
        if (entry.token) this.retire(entry.token.value);
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
    this.retire(token);
  }

  /** Every token held now and the last few held before, so that text can be scrubbed of them. */
  tokens(): string[] {
    const out = new Set(this.retired);
    for (const e of this.entries.values()) if (e.token) out.add(e.token.value);
    return [...out];
  }

  /** Forgets the tokens for use; they are still scrubbed (see RETIRED_TOKENS_KEPT). */
  clear(): void {
    for (const e of this.entries.values()) if (e.token) this.retire(e.token.value);
    this.entries.clear();
  }

  private retire(token: string): void {
    const at = this.retired.indexOf(token);
    if (at >= 0) this.retired.splice(at, 1);
    this.retired.push(token);
    if (this.retired.length > RETIRED_TOKENS_KEPT) this.retired.shift();
  }
}

/** The container-wide cache the Lambda handlers share between invocations. */
export const sharedTokenCache = new TokenCache();
