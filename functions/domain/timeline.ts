/**
 * What happened to an index, step by step, for the run's page (report.html): every Genesys call
 * it made (when, which, the answer's status) and every wait the state machine made for it (its
 * API slot, a retry, the settle, a poll), in order. Each optimize and verify invocation appends
 * its own entries to the list its progress carries through the state, so the list reaches the
 * index's outcome record without an extra read or write; the run-level calls (the listing, the
 * latency probes) are kept the same way in their steps' progress.
 */

/** A Genesys call: which one, when it was answered, and how. */
export interface CallEntry {
  kind: 'call';
  /** ISO time the answer came (or the call failed). */
  at: string;
  /** The client's name for it: 'getHealth', 'putOptimization', 'listIndexPage', 'probeQueryLatency'. */
  call: string;
  /** The HTTP status; 0 when there was no answer (a timeout, a refused connection). */
  status: number;
  durationMs: number;
}

export type WaitReason = 'slot' | 'retry' | 'settle' | 'poll';

/** A Wait state the state machine makes next, decided at `at`. */
export interface WaitEntry {
  kind: 'wait';
  at: string;
  reason: WaitReason;
  seconds: number;
  /** Why, for a retry or a poll: "rate limited (429)", "refreshing (503)", … */
  detail?: string;
}

export type TimelineEntry = CallEntry | WaitEntry;

/**
 * The most entries one index keeps. The state carries them through every step of the index's
 * child execution (256 KiB a state) and the outcome record into the report: a hundred entries of
 * about a hundred bytes is 10 KiB. An index that polls longer keeps its first and last entries.
 */
export const MAX_TIMELINE_ENTRIES = 100;
/** Of those, kept from the start when the list is cut (the rest are the latest). */
export const TIMELINE_HEAD = 20;

/**
 * `before` with `added` appended, cut to the bound (its head and its latest entries). Generic so
 * that a list of calls alone (the listing's, the probes') stays typed as calls.
 */
export function appendTimeline<T extends TimelineEntry = TimelineEntry>(before: readonly T[] | undefined, added: readonly T[]): T[] {
  const all = [...(before ?? []), ...added];
  if (all.length <= MAX_TIMELINE_ENTRIES) return all;
  return [...all.slice(0, TIMELINE_HEAD), ...all.slice(all.length - (MAX_TIMELINE_ENTRIES - TIMELINE_HEAD))];
}

/** The most characters of a wait's detail. */
const MAX_DETAIL_CHARS = 60;

/**
 * A wait's detail from the reason the function gave: without the call it names ("PUT /api/…: "),
 * its head up to the HTTP status ("rate limited (429)", "index busy (503)", "server error (500)"),
 * or else the reason bounded, so that a Genesys message or a correlation id never makes an
 * entry long (the page has the call and its status next to it).
 */
export function waitDetail(reason: string): string {
  const text = reason.replace(/^[A-Z]+ \/\S*: /, '');
  const head = /^[^:(]*\(\d{3}\)/.exec(text)?.[0];
  if (head) return head;
  const plain = text.replace(/ \[correlation id [^\]]*\]$/, '');
  return plain.length > MAX_DETAIL_CHARS ? `${plain.slice(0, MAX_DETAIL_CHARS - 1)}…` : plain;
}

/** The wait the state machine makes next, decided now. */
export function waitEntry(reason: WaitReason, seconds: number, detail?: string, at: Date = new Date()): WaitEntry {
  return { kind: 'wait', at: at.toISOString(), reason, seconds, ...(detail ? { detail: waitDetail(detail) } : {}) };
}
