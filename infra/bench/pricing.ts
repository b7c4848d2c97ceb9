/**
 * What a run costs at AWS list prices, from what the bench counted.
 */

/**
 * AWS list prices, US East (N. Virginia), on-demand, free tier ignored: the rates on the AWS
 * pricing pages for Step Functions, Lambda and S3, unchanged since 2022. Written down 2026-11-24
 * from those pages' long-standing figures, not fetched live: check them before quoting a cost.
 * - Step Functions Standard: $0.025 per 1,000 state transitions.
 * - Lambda arm64: $0.20 per 1M requests; duration $0.0000133334 per GB-second (first 7.5 billion
 *   GB-s a month), i.e. $0.0000000033 per ms at the stack's 256 MB. ($0.0000000133 per ms is the
 *   arm64 price at 1,024 MB, four times the functions' memory.)
 * - S3 Standard: PUT, COPY, POST, LIST $0.005 per 1,000 requests; GET $0.0004 per 1,000.
 * - DynamoDB on-demand (the pacer's table): $0.625 per million write request units, $0.125 per
 *   million read request units (the November 2024 prices). A pacer reservation is one strongly
 *   consistent GetItem of an item under 4 KB (1 RRU) and one conditional PutItem under 1 KB (1 WRU).
 */
export const LIST_PRICES_USD = {
  asOf: 'us-east-1 list prices, recorded 2026-11-24',
  stepFunctionsPerTransition: 0.025 / 1000,
  lambdaPerRequest: 0.2 / 1_000_000,
  lambdaPerGbSecondArm64: 0.0000133334,
  s3PutOrListPerRequest: 0.005 / 1000,
  s3GetPerRequest: 0.0004 / 1000,
  dynamoDbPerWriteUnit: 0.625 / 1_000_000,
  dynamoDbPerReadUnit: 0.125 / 1_000_000,
} as const;

/** The functions' memory (infra/stack/optimizer-stack.ts: memorySize 256, ARM_64). */
export const LAMBDA_MEMORY_MB = 256;

export interface RunUsage {
  transitions: number;
  invocations: number;
  /** Summed billed duration of all invocations (each rounded up to 1 ms). */
  lambdaBilledMs: number;
  s3Puts: number;
  s3Gets: number;
  s3Lists: number;
  /** The pacer's slot reservations (DynamoDB: 1 read + 1 write each). */
  pacerReservations: number;
}

export interface Cost {
  stepFunctions: number;
  lambdaRequests: number;
  lambdaDuration: number;
  s3: number;
  dynamoDb: number;
  total: number;
}

export function runCost(u: RunUsage, memoryMb = LAMBDA_MEMORY_MB): Cost {
  const p = LIST_PRICES_USD;
  const stepFunctions = u.transitions * p.stepFunctionsPerTransition;
  const lambdaRequests = u.invocations * p.lambdaPerRequest;
  const lambdaDuration = (u.lambdaBilledMs / 1000) * (memoryMb / 1024) * p.lambdaPerGbSecondArm64;
  const s3 = (u.s3Puts + u.s3Lists) * p.s3PutOrListPerRequest + u.s3Gets * p.s3GetPerRequest;
  const dynamoDb = u.pacerReservations * (p.dynamoDbPerReadUnit + p.dynamoDbPerWriteUnit);
  return { stepFunctions, lambdaRequests, lambdaDuration, s3, dynamoDb, total: stepFunctions + lambdaRequests + lambdaDuration + s3 + dynamoDb };
}

/** The cost of `indexes` indexes scaled to 1,000. */
export function per1000(cost: Cost, indexes: number): Cost {
  const f = 1000 / indexes;
  return {
    stepFunctions: cost.stepFunctions * f,
    lambdaRequests: cost.lambdaRequests * f,
    lambdaDuration: cost.lambdaDuration * f,
    s3: cost.s3 * f,
    dynamoDb: cost.dynamoDb * f,
    total: cost.total * f,
  };
}
