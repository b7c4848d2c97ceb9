/**
 * An org's second run beside its first (--second-run): the first run's refresh memory is empty
 * and it learns the org's refresh times from its first indexes that were still refreshing; the
 * second starts with what the first learned, so it should read nearly every index once.
 */
import type { OrgResult, RunFigures, SecondRunComparison } from './results.ts';

const figures = (o: OrgResult): RunFigures => ({
  calls: o.callsMade,
  callsPerIndex: o.callsPerIndex,
  healthReadsPerIndex: o.healthReadsPerIndex,
  ratioToBound: o.ratioToBound,
  wallSeconds: o.wallSeconds,
});

export function secondRunComparison(first: OrgResult, second: OrgResult): SecondRunComparison {
  if (first.run !== 'first' || second.run !== 'second' || first.indexes !== second.indexes) {
    throw new Error(`a second run is compared with the first run of the same org: got the ${first.run} run of ${first.indexes} and the ${second.run} run of ${second.indexes}`);
  }
  return {
    indexes: first.indexes,
    first: figures(first),
    second: figures(second),
    callsSaved: first.callsMade - second.callsMade,
    minimumCallsPerIndex: Math.round((first.minimumCalls / first.indexes) * 1000) / 1000,
  };
}

/** Each org's second run beside its first run, in the order the orgs ran. */
export function secondRunComparisons(orgs: readonly OrgResult[]): SecondRunComparison[] {
  return orgs.flatMap((second) => {
    if (second.run !== 'second') return [];
    const first = orgs.find((o) => o.run === 'first' && o.indexes === second.indexes);
    return first ? [secondRunComparison(first, second)] : [];
  });
}
