import { CredentialsConfigError } from '../credentials/errors.ts';
import { InputError } from '../domain/input-error.ts';
import { GenesysError } from '../genesys/errors.ts';
import { RunStoreError } from '../store/run-store.ts';

/** Errors the workflow expects and names; their stack traces say nothing an operator needs. */
export function isExpectedError(err: unknown): err is Error {
  return err instanceof GenesysError || err instanceof InputError || err instanceof CredentialsConfigError || err instanceof RunStoreError;
}

/**
 * Lambda turns a thrown error into the state's Error (its name) and Cause (a JSON object with
 * the message and the stack). For expected errors the stack is trimmed to the message so the
 * execution history shows the reason, not our call stack.
 */
export function forStateMachine(err: unknown): unknown {
  if (isExpectedError(err)) err.stack = `${err.name}: ${err.message}`;
  return err;
}

/** A one-line reason for a report, bounded so thousands of them still fit a state payload. */
export function reasonOf(err: unknown, max = 300): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
