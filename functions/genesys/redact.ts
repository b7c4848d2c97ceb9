/**
 * Last line of defence: whatever text leaves the client (an error message built from a Genesys
 * body, a log line) is scrubbed of the secret and of every token the client holds or recently held.
 */
export const REDACTED = '[redacted]';

export function redact(text: string, secrets: Iterable<string | undefined>): string {
  let out = text;
  for (const s of secrets) {
    // Very short values would shred ordinary words; real secrets and tokens are long.
    if (s && s.length >= 8) out = out.split(s).join(REDACTED);
  }
  return out;
}
