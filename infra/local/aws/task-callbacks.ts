/**
 * The task tokens of `.waitForTaskToken` tasks, as Step Functions keeps them: the runner registers
 * each token its engine hands out and awaits the callback; SendTaskSuccess, SendTaskFailure and
 * SendTaskHeartbeat reach it through the local endpoint. A token is a secret (whoever holds it
 * decides the task), so nothing here puts one in an error or a log: a token is only ever a key.
 */

export type TaskCallback = { kind: 'success'; output: string } | { kind: 'failure'; error?: string; cause?: string };

/** What the runner uses. */
export interface TaskCallbacks {
  /** Resolves with the first callback sent with `token`; `stateMachineArn` is what IAM authorizes callers on. */
  await(token: string, stateMachineArn: string): Promise<TaskCallback>;
  /** The task ended otherwise (timed out, the execution stopped): a callback now finds it closed. */
  cancel(token: string): void;
}

/**
 * How Step Functions answers a callback, by the token's state: one it never issued cannot be
 * decoded (InvalidToken); one whose task has closed, by a callback, a timeout or the execution's
 * end, is TaskTimedOut ("the task associated with the token has already been closed", API
 * reference of SendTaskSuccess; AWS's message for it is "Provided task does not exist anymore").
 * TaskDoesNotExist is for an activity that does not exist, which a local run has none of.
 */
export type TokenState = 'open' | 'closed' | 'unknown';

interface Waiting {
  stateMachineArn: string;
  resolve: ((callback: TaskCallback) => void) | null;
}

export class TaskCallbackRegistry implements TaskCallbacks {
  private readonly tokens = new Map<string, Waiting>();

  await(token: string, stateMachineArn: string): Promise<TaskCallback> {
    // The message names neither token: a token is the secret it would leak.
    if (this.tokens.has(token)) throw new Error(`a task token was registered twice (state machine ${stateMachineArn})`);
    return new Promise((resolve) => this.tokens.set(token, { stateMachineArn, resolve }));
  }

  cancel(token: string): void {
    // The runner stopped waiting by itself: its promise is left unsettled rather than rejected into no one's hands.
    const waiting = this.tokens.get(token);
    if (waiting) waiting.resolve = null;
  }

  /** The state machine a token's task belongs to (IAM authorizes callbacks on it); unknown tokens have none. */
  stateMachineOf(token: string): string | undefined {
    return this.tokens.get(token)?.stateMachineArn;
  }

  state(token: string): TokenState {
    const waiting = this.tokens.get(token);
    return waiting === undefined ? 'unknown' : waiting.resolve ? 'open' : 'closed';
  }

  /** Closes the task with the callback; false when it was not open. */
  complete(token: string, callback: TaskCallback): boolean {
    const waiting = this.tokens.get(token);
    if (!waiting?.resolve) return false;
    const resolve = waiting.resolve;
    // Kept, closed, so that a second callback answers as AWS does rather than as for a token never issued.
    waiting.resolve = null;
    resolve(callback);
    return true;
  }
}
