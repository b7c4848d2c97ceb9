/**
 * One real run per org at a time. Before a run touches anything, it looks for other executions
 * of the same state machine that are RUNNING: if a real (not dry) run of the same org started
 * earlier is still going, this one stops cleanly as "already running". The earlier run always
 * wins, so two runs started together never both give way. Runs of other orgs (a fleet's) never
 * block each other: each org has its own OAuth client, budget and indexes.
 */
export interface GuardRequest {
  executionId: string;
  /** ISO start time of this execution ($$.Execution.StartTime). */
  startTime: string;
  /** The run's org (its input's `org`); null in a single-org deployment. */
  org: string | null;
}

export type GuardVerdict = { proceed: true } | { proceed: false; runningExecution: string; startedAt: string };

export interface RunningExecution {
  executionId: string;
  startTime: string;
  dryRun: boolean;
  org: string | null;
}

export interface RunGuard {
  check(request: GuardRequest): Promise<GuardVerdict>;
}

/** The oldest real run other than this one that started before it (ties broken by id), if any. */
export function earlierRealRun(self: GuardRequest, running: RunningExecution[]): RunningExecution | undefined {
  const mine = Date.parse(self.startTime);
  return running
    .filter((r) => r.executionId !== self.executionId && !r.dryRun && r.org === self.org)
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
