/**
 * What a run asked of AWS, as billed, from the local AWS endpoint's count of the calls each
 * principal made (the runner's own calls, as ADMIN, are not the run's): S3 requests by kind,
 * including the Distributed Map's ItemReader and ResultWriter, and the pacer's DynamoDB requests.
 */
import { ADMIN } from '../local/aws/local-aws.ts';

export interface StoreOps {
  puts: number;
  gets: number;
  lists: number;
}

export interface AwsUsage {
  s3: StoreOps;
  /** Slot reservations: each a strongly consistent GetItem and a conditional PutItem (a conflict repeats both). */
  pacerReservations: number;
}

export function awsUsage(counts: ReadonlyMap<string, number>): AwsUsage {
  const usage: AwsUsage = { s3: { puts: 0, gets: 0, lists: 0 }, pacerReservations: 0 };
  for (const [key, n] of counts) {
    const [principal, call] = key.split(' ');
    if (principal === ADMIN) continue;
    if (call === 's3:PutObject') usage.s3.puts += n;
    else if (call === 's3:GetObject' || call === 's3:HeadObject') usage.s3.gets += n;
    else if (call === 's3:ListObjectsV2') usage.s3.lists += n;
    else if (call === 'dynamodb:PutItem') usage.pacerReservations += n;
  }
  return usage;
}
