/**
 * The run's share of the org's Genesys API budget. Every function that calls Genesys reserves
 * slots on one shared clock before it calls: slots are `interval` apart, so however many indexes
 * run at once, the calls of the whole run never exceed `apiBudgetPerMinute` in any minute.
 *
 * A call is made near its slot, not exactly at it:
 * - up to EARLY_MS before it: a slot less than that away is taken at once rather than waited for
 *   (a Wait state counts whole seconds), and a Wait is made to end EARLY_MS before its slot;
 * - up to LATE_MS after it: that Wait rounds up to a whole second (≤ 1 s), and the next invocation
 *   takes a moment to start (assumed ≤ 1.5 s), so 1 s − 1.5 s + 1.5 s = 1 s;
 * - and a two-call reservation (the health pre-check and the PUT, made back to back) makes its
 *   second call one interval before that call's slot.
 * So the calls of any 60 s window belong to slots in 60 s + EARLY + LATE + one interval, which
 * hold at most (60 s + EARLY + LATE) / interval + 2 slots. With
 *
 *     interval = (60 s + EARLY + LATE) / (budget − 2)
 *
 * that is at most the budget, while using (budget − 2) × 60 / 62.5 of it: 94.7% at 150 a minute.
 */
export const EARLY_MS = 1_500;
export const LATE_MS = 1_000;

export function slotIntervalMs(budgetPerMinute: number): number {
  return (60_000 + EARLY_MS + LATE_MS) / Math.max(1, budgetPerMinute - 2);
}

/**
 * Slot times (epoch ms) already taken, in order. A slot is free when no taken slot is less than
 * an interval away, so any window still holds at most one call per interval. Reservations made
 * ahead (the first health read after settling, the next poll) leave the slots before them free
 * for others: a single "next free slot" pointer would jump over them and waste them.
 */
export function takeSlots(taken: readonly number[], count: number, intervalMs: number, earliestMs: number, nowMs: number): { start: number; taken: number[] } {
  // Slots further back than an interval no longer constrain anything.
  const live = taken.filter((t) => t > nowMs - intervalMs);
  let start = earliestMs;
  for (const t of live) {
    if (t <= start - intervalMs) continue;
    if (t >= start + count * intervalMs) break;
    start = t + intervalMs;
  }
  const mine = Array.from({ length: count }, (_, i) => start + i * intervalMs);
  return { start, taken: [...live, ...mine].sort((a, b) => a - b) };
}

/** The clock's item stayed contended for longer than any real burst lasts. */
export class SlotClockContentionError extends Error {
  override name = 'Pacer.Contention';
}

/** The shared clock: the slots taken, changed atomically. */
export interface SlotClock {
  /**
   * Takes the first `count` consecutive free slots starting no earlier than `earliestMs`;
   * returns the first slot's time (epoch ms). Throws SlotClockContentionError when it could not
   * get its turn at the clock at all.
   */
  reserve(key: string, count: number, intervalMs: number, earliestMs: number, nowMs: number): Promise<number>;
}

/**
 * Call now; or wait `waitSeconds` (a Wait state) and call then, on the slot reserved (`reserved`);
 * or, when the clock was too contended to reserve anything, wait and ask again (`reserved: false`).
 */
export type PaceDecision = { callNow: true } | { callNow: false; reserved: true; slotMs: number; waitSeconds: number } | { callNow: false; reserved: false; waitSeconds: number };

/**
 * A reservation that found the clock contended for that long waits in the state machine, for
 * 1 to this many seconds (spread at random, so the contenders do not come back together).
 */
export const CONTENDED_WAIT_SECONDS = 5;

export class Pacer {
  private readonly clock: SlotClock;
  private readonly key: string;
  private readonly intervalMs: number;
  private readonly now: () => number;

  private readonly random: () => number;

  constructor(clock: SlotClock, key: string, budgetPerMinute: number, now: () => number = Date.now, random: () => number = Math.random) {
    this.clock = clock;
    this.key = key;
    this.intervalMs = slotIntervalMs(budgetPerMinute);
    this.now = now;
    this.random = random;
  }

  /**
   * Reserves `calls` slots no earlier than `earliestMs` (default now). Call now when the first
   * slot is at most EARLY_MS away; otherwise wait (a Wait state) and call when it comes.
   *
   * Nothing has been called yet, so a clock too contended to answer costs this caller a Wait and
   * another try, not its index: every Map child reserves here as it starts, and with hundreds
   * starting together one of them can lose every conflict for the clock's whole patience.
   */
  async reserve(calls: number, earliestMs?: number): Promise<PaceDecision> {
    const asked = this.now();
    let slotMs: number;
    try {
      slotMs = await this.clock.reserve(this.key, calls, this.intervalMs, Math.max(asked, earliestMs ?? asked), asked);
    } catch (err) {
      if (!(err instanceof SlotClockContentionError)) throw err;
      return { callNow: false, reserved: false, waitSeconds: 1 + Math.floor(this.random() * CONTENDED_WAIT_SECONDS) };
    }
    // The clock may take a while to answer (conflicts back off): the Wait starts when it has.
    const now = this.now();
    if (slotMs - now <= EARLY_MS) return { callNow: true };
    return { callNow: false, reserved: true, slotMs, waitSeconds: Math.max(1, Math.ceil((slotMs - now - EARLY_MS) / 1000)) };
  }

  /**
   * For a call that must wait anyway (Retry-After, a poll interval, settling): reserves its
   * slots no earlier than that, and says how long the Wait state should be (never shorter).
   *
   * A clock too contended to answer does not fail the caller, who has often just made a call (an
   * accepted PUT must not turn into a failed index): the wait is as asked, `reserved` is false,
   * and the next invocation reserves before it calls.
   */
  async scheduleAfter(calls: number, minWaitSeconds: number): Promise<Scheduled> {
    const asked = this.now();
    let slotMs: number;
    try {
      slotMs = await this.clock.reserve(this.key, calls, this.intervalMs, asked + minWaitSeconds * 1000, asked);
    } catch (err) {
      if (!(err instanceof SlotClockContentionError)) throw err;
      return { waitSeconds: minWaitSeconds, reserved: false };
    }
    const now = this.now();
    // The call may come up to EARLY_MS before its slot (see above), so a slot a hair past a whole
    // second does not cost another second of waiting.
    return { waitSeconds: Math.max(minWaitSeconds, Math.ceil((slotMs - now - EARLY_MS) / 1000)), reserved: true };
  }
}

/** The Wait before a call, and whether the call's slot is reserved (if not, reserve it before calling). */
export interface Scheduled {
  waitSeconds: number;
  reserved: boolean;
}

/** No pacer (no shared clock configured): calls go at once, waits are as asked. */
export const UNPACED = {
  reserve: async (): Promise<PaceDecision> => ({ callNow: true }),
  scheduleAfter: async (_calls: number, minWaitSeconds: number): Promise<Scheduled> => ({ waitSeconds: minWaitSeconds, reserved: true }),
};
export type CallPacer = Pick<Pacer, 'reserve' | 'scheduleAfter'>;
