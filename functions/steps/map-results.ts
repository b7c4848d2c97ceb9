/**
 * The Distributed Map's own record of each child execution (its ResultWriter output in the run
 * bucket). An index whose function crashed or timed out never recorded an outcome of its own; the
 * child execution still ended, through the UnexpectedFailure state or failed as a whole, and its
 * result here says why. Read only for the indexes that have no recorded outcome.
 */
import type { IndexResult } from '../domain/report.ts';
import { errorMessageOf } from '../shared/lambda-cause.ts';
import { reasonOf } from '../shared/bounded-error.ts';
import type { RunStore } from '../store/run-store.ts';

/** The Map's result in the state: where its ResultWriter wrote. */
export interface MapRunResult {
  MapRunArn?: string;
  ResultWriterDetails?: { Bucket?: string; Key?: string };
}

interface Manifest {
  ResultFiles?: Partial<Record<'SUCCEEDED' | 'FAILED' | 'PENDING', Array<{ Key: string }>>>;
}

interface ChildResult {
  Input?: string;
  Output?: string;
  Error?: string;
  Cause?: string;
  Status?: string;
}

function parse<T>(text: string | undefined): T | null {
  try {
    return text ? (JSON.parse(text) as T) : null;
  } catch {
    return null;
  }
}

function fromChild(child: ChildResult): IndexResult | null {
  const input = parse<{ indexId?: string }>(child.Input);
  const output = parse<{ id?: string; outcome?: string; reason?: string; errorName?: string; cause?: string }>(child.Output);
  const id = output?.id ?? input?.indexId;
  if (!id) return null;
  if (output?.outcome === 'failed' || output?.outcome === 'optimized' || output?.outcome === 'skipped') {
    const detail = output.cause ? `: ${errorMessageOf(output.cause)}` : '';
    return {
      id,
      outcome: output.outcome,
      ...(output.reason ? { reason: reasonOf(`${output.reason}${detail}`) } : {}),
      ...(output.errorName ? { errorName: output.errorName } : {}),
    };
  }
  const error = child.Error ?? child.Status ?? 'unknown';
  return { id, outcome: 'failed', reason: reasonOf(`its child execution ended ${child.Status ?? 'without output'}: ${error}${child.Cause ? ` (${errorMessageOf(child.Cause)})` : ''}`), errorName: error };
}

export async function readMapResults(store: RunStore, mapRun: MapRunResult | undefined, wanted: ReadonlySet<string>): Promise<IndexResult[]> {
  const manifestKey = mapRun?.ResultWriterDetails?.Key;
  if (!manifestKey || wanted.size === 0) return [];
  const manifest = await store.getJson<Manifest>(manifestKey);
  const files = [...(manifest.ResultFiles?.FAILED ?? []), ...(manifest.ResultFiles?.SUCCEEDED ?? [])];
  const found: IndexResult[] = [];
  for (const file of files) {
    for (const child of await store.getJson<ChildResult[]>(file.Key)) {
      const result = fromChild(child);
      if (result && wanted.has(result.id)) found.push(result);
    }
  }
  return found;
}
