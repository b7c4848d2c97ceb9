// Access tokens issued by the simulated login host. Tokens are random and opaque; the store
// enforces expiry and the scenario's revoke-after-n-uses fault.
import { randomBytes } from 'node:crypto';

interface TokenRecord {
  expiresAt: number;
  uses: number;
  revoked: boolean;
}

export type TokenCheck = { ok: true } | { ok: false; reason: 'unknown' | 'expired' | 'revoked' };

export class TokenStore {
  private readonly tokens = new Map<string, TokenRecord>();
  private readonly lifetimeMs: number;
  private readonly revokeAfterUses: number | undefined;

  constructor(lifetimeSeconds: number, revokeAfterUses?: number) {
    this.lifetimeMs = lifetimeSeconds * 1000;
    this.revokeAfterUses = revokeAfterUses;
  }

  issue(now = Date.now()): string {
    const token = randomBytes(32).toString('base64url');
    this.tokens.set(token, { expiresAt: now + this.lifetimeMs, uses: 0, revoked: false });
    return token;
  }

  /** Checks a token for one API call and counts the use. */
  use(token: string, now = Date.now()): TokenCheck {
    const t = this.tokens.get(token);
    if (t === undefined) return { ok: false, reason: 'unknown' };
    if (t.revoked) return { ok: false, reason: 'revoked' };
    if (now >= t.expiresAt) return { ok: false, reason: 'expired' };
    if (this.revokeAfterUses !== undefined && t.uses >= this.revokeAfterUses) {
      t.revoked = true;
      return { ok: false, reason: 'revoked' };
    }
    t.uses += 1;
    return { ok: true };
  }

  revokeAll(): void {
    for (const t of this.tokens.values()) t.revoked = true;
  }

  get issuedCount(): number {
    return this.tokens.size;
  }
}
