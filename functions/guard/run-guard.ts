/**
 * One real run per org at a time. Before a run touches anything, it looks for other executions
 * of the same state machine that are RUNNING: if a real (not dry) run started earlier is still
 * going, this one stops cleanly as "already running". The earlier run always wins, so two runs
 * started together never both give way.
 */
export interface GuardRequest {
  executionId: string;
  /** ISO start time of this execution ($$.Execution.StartTime). */
  startTime: string;
}

export type GuardVerdict = { proceed: true } | { proceed: false; runningExecution: string; startedAt: string };

export interface RunningExecution {
  executionId: string;
  startTime: string;
  dryRun: boolean;
}

export interface RunGuard {
  check(request: GuardRequest): Promise<GuardVerdict>;
}

/** The oldest real run other than this one that started before it (ties broken by id), if any. */
export function earlierRealRun(self: GuardRequest, running: RunningExecution[]): RunningExecution | undefined {
  const mine = Date.parse(self.startTime);
  return running
    .filter((r) => r.executionId !== self.executionId && !r.dryRun)
    .filter((r) => {
      const theirs = Date.parse(r.startTime);
      return theirs < mine || (theirs === mine && r.executionId < self.executionId);
    })
    .sort((a, b) => Date.parse(a.startTime) - Date.parse(b.startTime))[0];
}

export function verdict(self: GuardRequest, running: RunningExecution[]): GuardVerdict {
  const blocker = earlierRealRun(self, running);
  return blocker ? { proceed: false, runningExecution: blocker.executionId, startedAt: blocker.startTime } : { proceed: true };
}
