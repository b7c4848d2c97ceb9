/** Longest field path quoted in a message: a field name is part of the input, and the input may be huge. */
const MAX_FIELD_CHARS = 80;

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
