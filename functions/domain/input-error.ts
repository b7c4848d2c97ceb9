/** A bad execution input. The state machine lets it fail the execution at once, before any Genesys call. */
export class InputError extends Error {
  override name = 'Input.Invalid';
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`${field}: ${problem}`);
    this.field = field;
  }
}
