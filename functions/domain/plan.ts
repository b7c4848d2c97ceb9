/**
 * The plan: every listed index with its decision. The state machine carries only the ids that
 * qualify; the plan itself (names, reasons) is kept in the run store for the report.
 */
import type { IndexRecord } from '../genesys/shapes.ts';
import type { RunConfig } from './execution-input.ts';
import { InputError } from './input-error.ts';
import { evaluateRecord, type SkipCategory } from './policy.ts';

export interface PlanEntry {
  id: string;
  name?: string;
  decision: 'qualifies' | SkipCategory;
  reason?: string;
}

export interface Plan {
  entries: PlanEntry[];
  /** Ids to optimize, in inventory order. */
  qualifying: string[];
}

export function buildPlan(records: IndexRecord[], config: RunConfig, now: number): Plan {
  const wanted = config.indexIds ? new Set(config.indexIds) : null;
  if (wanted) {
    const listed = new Set(records.map((r) => (r.valid ? r.index.id : r.id)).filter((id): id is string => id !== undefined));
    const unknown = [...wanted].filter((id) => !listed.has(id));
    if (unknown.length > 0) {
      const shown = unknown.slice(0, 10).join(', ');
      throw new InputError('indexIds', `${unknown.length} unknown index id(s), not in the org's inventory: ${shown}${unknown.length > 10 ? ', …' : ''}`);
    }
  }
  const entries: PlanEntry[] = [];
  const qualifying: string[] = [];
  records.forEach((record, position) => {
    const id = record.valid ? record.index.id : record.id;
    // A subset run reports on the subset only; an index without an id cannot be in a subset.
    if (wanted && (id === undefined || !wanted.has(id))) return;
    const name = record.valid ? record.index.name : record.name;
    const decision = evaluateRecord(record, config.policy, now);
    const entry: PlanEntry = { id: id ?? `(no id: record ${position + 1} of the listing)`, decision: decision.qualifies ? 'qualifies' : decision.category };
    if (name !== undefined) entry.name = name;
    if (!decision.qualifies) entry.reason = decision.reason;
    entries.push(entry);
    if (decision.qualifies) qualifying.push(entry.id);
  });
  return { entries, qualifying };
}
