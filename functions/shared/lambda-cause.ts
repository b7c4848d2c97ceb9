/**
 * A failed Lambda task's Cause is Lambda's JSON error object ({errorType, errorMessage, trace});
 * other services give plain text. Either way, the message is what a person wants to read.
 */
export function errorMessageOf(cause: string): string {
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    /* plain text */
  }
  return cause;
}
