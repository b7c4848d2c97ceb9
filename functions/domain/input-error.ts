/** Longest field path quoted in a message: a field name is part of the input, and the input may be huge. */
const MAX_FIELD_CHARS = 80;

/** A value as an error message shows it: its kind, and a short string's text. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/** A JSON object (not an array, not null). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A bad execution input. The state machine lets it fail the execution at once, before any Genesys call. */
export class InputError extends Error {
  override name = 'Input.Invalid';
  readonly field: string;
  constructor(field: string, problem: string) {
    // An unknown field named with 300 KB of text would otherwise make a 300 KB error (and log line).
    const shown = field.length > MAX_FIELD_CHARS ? `${field.slice(0, MAX_FIELD_CHARS / 2)}…` : field;
    super(`${shown}: ${problem}`);
    this.field = shown;
  }
}
