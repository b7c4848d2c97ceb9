/**
 * The shape of bench-results.json. The keys the issue asks for come first in each object; the
 * rest explain them (what the bound is made of, where the cost comes from, how the run was set up).
 */
import type { CallsNeeded } from './bound.ts';
import type { Cost } from './pricing.ts';
import type { TransitionSummary } from './transitions.ts';

/**
 * first: the org's first run, its refresh memory empty (a fresh local AWS). second: the same org
 * run again on the same local AWS (the pacer table keeps what the first run learned), against a new
 * simulator from the same scenario, so that the same indexes qualify and refresh as before.
 */
export type OrgRun = 'first' | 'second';

export interface OrgResult {
  indexes: number;
  run: OrgRun;
  /** Wall time of the execution, in real-world seconds (measured × scale). */
  wallSeconds: number;
  /** Calls needed / budget, in real-world seconds. */
  boundSeconds: number;
  ratioToBound: number;
  /** API calls made (token requests excluded) / indexes. */
  callsPerIndex: number;
  /** 429 answers the simulator gave. */
  throttled: number;
  /** Indexes reported failed. */
  failed: number;
  /** All state transitions of the execution / indexes. */
  transitionsPerIndex: number;
  /** All Lambda invocations / indexes. */
  invocationsPerIndex: number;
  costPer1000Usd: number;

  status: string;
  optimized: number;
  /** Failed indexes whose reason is a 429. */
  failedBy429: number;
  /** The calls no optimizer can avoid (3 per index, the listing, two probes): the bound's. */
  minimumCalls: number;
  /** The calls of reads at the configured settle, then every poll until the refresh is over, for comparison. */
  callsAtSettleTimings: CallsNeeded;
  callsMade: number;
  /** Health reads made after each index's accepted PUT, / indexes (pre-checks not counted): 1 is the physical minimum. */
  healthReadsPerIndex: number;
  /** Calls made / budget: the bound for the calls this run actually needed (fewer polls when paced reads come later). */
  boundFromCallsMadeSeconds: number;
  tokenRequests: number;
  callsByEndpoint: Record<string, number>;
  /** Calls per real-world minute (60/k s of wall time): the busiest such minute, and the mean over the run. */
  peakCallsPerMinute: number;
  meanCallsPerMinute: number;
  /** meanCallsPerMinute / budget: how much of the budget the run used. */
  budgetUtilization: number;
  transitions: TransitionSummary & { total: number };
  invocations: Record<string, number>;
  /** Mean measured Task duration per function, ms (in-process, loopback Genesys). */
  meanTaskMs: Record<string, number>;
  s3: { puts: number; gets: number; lists: number };
  /** The pacer's slot reservations (a DynamoDB read and write each in AWS); 0 before the pacer. */
  pacerReservations: number;
  costPer1000: Cost;
  maxPayloadBytes: number;
}

/** An org run at real time (k = 1): what the compression distorts, measured rather than argued. */
export interface RealTimeResult extends OrgResult {
  scale: number;
  /** The execution input it ran with (not time-compressed). */
  executionInput: Record<string, unknown>;
  maxConcurrency: number;
  /** The budget it ran at, requests per minute (apiBudgetPerMinute: at k = 1 wall and real minutes are the same). */
  budgetPerMinute: number;
}

export interface SeedResult {
  indexes: number;
  wallSeconds: number;
  callsMade: number;
  callsPerIndex: number;
  throttled: number;
  /** Indexes whose one health read found them healthy (the seed's "success"). */
  verified: number;
  /** indexes − verified: a PUT not accepted, or a health read that found the index still refreshing (or red). */
  unverified: number;
  /** What the seed's loop concluded per index. */
  outcomes: Record<string, number>;
}

/** What one strategy did with an org: the same fields for the seed's and the optimizer's. */
export interface StrategyOutcome {
  /** For the optimizer: indexes reported optimized, i.e. healthy after their PUT. */
  verified: number;
  /** indexes − verified. */
  unverified: number;
  /** API calls made, token requests excluded. */
  calls: number;
  callsPerIndex: number;
  /** Real-world seconds (wall × scale). */
  wallSeconds: number;
}

/** The seed's strategy and the optimizer side by side on the same org at the same scale; no speed-up figure, since they do not do the same job. */
export interface SeedComparison {
  indexes: number;
  scale: number;
  seed: StrategyOutcome;
  /** null: no optimizer run of this size. */
  optimizer: StrategyOutcome | null;
}

export interface BundleResult {
  name: string;
  /** The minified bundle, without its source map. */
  bytes: number;
  /** Median time to import the bundle in a fresh Node process, as deployed (--enable-source-maps). */
  coldImportMs: number;
  coldImportRunsMs: number[];
  /** The same without --enable-source-maps. */
  coldImportMsNoSourceMaps: number;
  sourceMapBytes: number;
  /** Median over the runs of this bundle's import / the floor's import made just before it (same run, same machine, seconds apart). */
  importRatio: number;
}

/** A bundle that only imports @aws-sdk/client-s3 and the Powertools Logger and constructs one of each: what any of these functions pays at import. */
export type FloorResult = Omit<BundleResult, 'importRatio'>;

export interface BenchSettings {
  scale: number;
  /** The optimizer's budget, requests per real-world minute, as asked (--budget). */
  budgetPerMinute: number;
  /** The budget that ran: apiBudgetPerMinute / scale (the input takes whole numbers). The bound uses it. */
  effectiveBudgetPerMinute: number;
  /** The Map's concurrency, as the optimizer parsed the input. */
  maxConcurrency: number;
  /** Whether the bench set it (else the optimizer's default, derived from the budget). */
  maxConcurrencyFromInput: boolean;
  /** The execution input of the optimizer runs, as sent (time-compressed). */
  executionInput: Record<string, unknown>;
  /** The timings the runs simulate, in real-world seconds (after rounding to whole scaled seconds). */
  effectiveTiming: Record<string, number>;
  simulator: { rateLimitPerWindow: number; rateLimitWindowSeconds: number; refreshSeconds: readonly number[] };
  node: string;
  cpus: number;
  /** os.loadavg() (1, 5, 15 minutes) when the bench started and ended: other work on the machine shows in every time measured. */
  loadAverage: { atStart: number[]; atEnd: number[] };
  /** --second-run: each org in --sizes ran twice on one local AWS. */
  secondRun: boolean;
  startedAt: string;
}

/** An org's second run beside its first (--second-run): what the refresh memory saves. */
export interface SecondRunComparison {
  indexes: number;
  first: RunFigures;
  second: RunFigures;
  /** first.calls − second.calls. */
  callsSaved: number;
  /** The calls no optimizer can avoid, / indexes: what "close to 3.0 calls per index" is measured against. */
  minimumCallsPerIndex: number;
}

export interface RunFigures {
  calls: number;
  callsPerIndex: number;
  healthReadsPerIndex: number;
  ratioToBound: number;
  wallSeconds: number;
}

export interface BenchResults {
  /** Each size's first run, then, with --second-run, its second run right after it. */
  orgs: OrgResult[];
  /** --second-run: each size's second run beside its first; [] when not run. */
  secondRuns: SecondRunComparison[];
  /** --real-time: 100 indexes at k = 1; null when not run. */
  realTime: RealTimeResult | null;
  seedStrategy: SeedResult | null;
  seedComparison: SeedComparison | null;
  /** null when the bundles were not measured. */
  floor: FloorResult | null;
  bundles: BundleResult[];
  settings: BenchSettings;
  prices: Record<string, unknown>;
  notes: string[];
}
