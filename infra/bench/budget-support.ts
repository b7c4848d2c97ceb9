/**
 * Whether the optimizer takes an API budget (`apiBudgetPerMinute` in the execution input) yet.
 * Unknown input fields are refused, so the bench asks the input parser itself: if it accepts
 * the field, the bench passes it; if not, the run goes without it (and is not paced).
 */
import { parseExecutionInput } from '../../functions/domain/execution-input.ts';

export const BUDGET_FIELD = 'apiBudgetPerMinute';

export function optimizerTakesBudget(): boolean {
  try {
    parseExecutionInput({ [BUDGET_FIELD]: 150 });
    return true;
  } catch {
    return false;
  }
}

/** The parser's verdict on the input the bench is about to send: the concurrency it implies, or the problem. */
export function checkInput(input: Record<string, unknown>): { maxConcurrency: number } | { problem: string } {
  try {
    return { maxConcurrency: parseExecutionInput(input).maxConcurrency };
  } catch (err) {
    return { problem: err instanceof Error ? err.message : String(err) };
  }
}
