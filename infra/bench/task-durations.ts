/**
 * How long each Task state took, from the execution's events (StateEntered → StateExited or
 * StateFailed): the in-process handler's duration, which is what Lambda would bill. Locally the
 * Genesys calls go over loopback and the handlers share one event loop with the others running at
 * the same time, so these are not AWS durations: shorter for the network, longer for contention.
 */
import type { FunctionRole } from '../local/definition.ts';

interface TaskEvent {
  type: string;
  timestamp: number;
  index?: number;
  state?: { name: string; type?: string };
}

export interface RoleDurations {
  invocations: number;
  totalMs: number;
  /** Each invocation rounded up to whole milliseconds, at least 1 (Lambda's billing). */
  billedMs: number;
}

export function taskDurations(events: readonly TaskEvent[], tasks: ReadonlyMap<string, FunctionRole>): Record<FunctionRole, RoleDurations> {
  const out = {} as Record<FunctionRole, RoleDurations>;
  for (const role of new Set(tasks.values())) out[role] = { invocations: 0, totalMs: 0, billedMs: 0 };
  const open = new Map<string, number>();
  for (const e of events) {
    const name = e.state?.name;
    if (name === undefined || !tasks.has(name)) continue;
    const key = `${e.index ?? -1}|${name}`;
    if (e.type === 'StateEntered') open.set(key, e.timestamp);
    else if (e.type === 'StateExited' || e.type === 'StateFailed') {
      const started = open.get(key);
      if (started === undefined) continue;
      open.delete(key);
      const ms = e.timestamp - started;
      const d = out[tasks.get(name)!];
      d.invocations++;
      d.totalMs += ms;
      d.billedMs += Math.max(1, Math.ceil(ms));
    }
  }
  return out;
}
