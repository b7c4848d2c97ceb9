/**
 * The execution input the bench sends, and the optimizer's own verdict on it: the bench asks
 * `parseExecutionInput` rather than assuming, so an input the optimizer would refuse (a --scale
 * or --budget that rounds a timing to nothing, say) stops the bench with the parser's reason
 * instead of a failed execution minutes later.
 */
import { parseExecutionInput } from '../../functions/domain/execution-input.ts';
import { scaleBudget, scaleTimings } from './scale.ts';

export function benchExecutionInput(k: number, budgetPerMinute: number, concurrency: number | null): Record<string, unknown> {
  const t = scaleTimings(k);
  return {
    timing: t.timing,
    retries: { maxRetryAfterSeconds: t.maxRetryAfterSeconds },
    apiBudgetPerMinute: scaleBudget(budgetPerMinute, k).perWallMinute,
    // Left out by default: the optimizer derives its concurrency from the budget, and the bench measures that.
    ...(concurrency !== null ? { maxConcurrency: concurrency } : {}),
  };
}

/** The parser's verdict on the input the bench is about to send: the concurrency it implies, or the problem. */
export function checkInput(input: Record<string, unknown>): { maxConcurrency: number } | { problem: string } {
  try {
    return { maxConcurrency: parseExecutionInput(input).maxConcurrency };
  } catch (err) {
    return { problem: err instanceof Error ? err.message : String(err) };
  }
}
