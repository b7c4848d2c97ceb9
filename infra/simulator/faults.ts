// Ordered, consumable fault queues. Each endpoint (and each index's PUT and health) gets its
// own queue so a fault matrix can script "429 twice, then 503, then succeed" per call site.
import type { Fault } from './scenario.ts';

export class FaultQueue {
  private readonly faults: Fault[];

  constructor(faults: readonly Fault[]) {
    // Copies, because consuming a fault mutates its remaining count and the parsed scenario
    // may be reused by another simulator instance.
    this.faults = faults.map((f) => ({ ...f }));
  }

  /** The fault for the next call, if any, consuming one use of it. */
  next(): Fault | undefined {
    const f = this.faults.find((x) => x.times !== 0);
    if (f === undefined) return undefined;
    if (f.times > 0) f.times -= 1;
    return f;
  }

  get remaining(): number {
    return this.faults.reduce((n, f) => (f.times < 0 ? Infinity : n + f.times), 0);
  }
}
