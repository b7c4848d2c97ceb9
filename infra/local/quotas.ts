/**
 * The Step Functions quotas a local run enforces as AWS does (Standard workflows): 256 KiB for
 * any state's input or output, a task's result and a Map's result, and 25,000 events in one
 * execution's history. Exceeding either ends the execution with an error no Catch can take.
 */
export const MAX_PAYLOAD_BYTES = 256 * 1024;
export const MAX_HISTORY_EVENTS = 25_000;

export class QuotaExceeded extends Error {
  constructor(name: 'States.DataLimitExceeded' | 'States.Runtime', message: string) {
    super(message);
    this.name = name;
  }
}

export const payloadBytes = (v: unknown): number => (v === undefined ? 0 : Buffer.byteLength(JSON.stringify(v)));

/**
 * Runs one of an execution's quota checks: past a quota the execution ends (`end`), which no
 * Catch can prevent, and the error goes on to the state that met it.
 */
export function checkQuota(end: (e: QuotaExceeded) => void, check: () => void): void {
  try {
    check();
  } catch (err) {
    if (err instanceof QuotaExceeded) end(err);
    throw err;
  }
}

/**
 * One execution's account: its history grows by what AWS records for each state (entered and
 * exited), each task attempt (scheduled, started, and succeeded or failed) and each Map Run
 * (started and ended), plus the execution's own start and end.
 */
export class ExecutionQuota {
  readonly label: string;
  historyEvents = 2;
  maxPayloadBytes = 0;

  constructor(label: string) {
    this.label = label;
  }

  payload(what: string, value: unknown): void {
    const bytes = payloadBytes(value);
    this.maxPayloadBytes = Math.max(this.maxPayloadBytes, bytes);
    if (bytes > MAX_PAYLOAD_BYTES) {
      // AWS's own words for it, then which state and by how much.
      throw new QuotaExceeded(
        'States.DataLimitExceeded',
        `The state/task returned a result with a size exceeding the maximum number of bytes service limit: ${this.label}, ${what} is ${bytes} bytes (quota ${MAX_PAYLOAD_BYTES})`,
      );
    }
  }

  events(count: number, what: string): void {
    this.historyEvents += count;
    if (this.historyEvents > MAX_HISTORY_EVENTS) {
      throw new QuotaExceeded('States.Runtime', `The execution reached the maximum number of history events (${MAX_HISTORY_EVENTS}): ${this.label}, at ${what}`);
    }
  }
}
