/**
 * Each function's S3 permissions in the run bucket, derived from the run store's layout
 * (functions/store/run-layout.ts RUN_STORE_ACCESS): exactly the objects it reads and writes, and
 * listing only under the prefixes it lists. Not grantRead/grantPut: those add s3:GetBucket*,
 * s3:List* on the whole bucket and object ACL, tagging, retention and legal-hold actions.
 */
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { RUN_STORE_ACCESS, RUNS_ROOT, type StoreUser } from '../../functions/store/run-layout.ts';

/** The layout's relative keys hold for every run: runs/<state machine>/<execution>/<key>. */
export const anyRun = (relative: string): string => `${RUNS_ROOT}*/${relative}`;

export function runStoreStatements(bucket: IBucket, user: StoreUser): PolicyStatement[] {
  const access = RUN_STORE_ACCESS[user];
  const statements: PolicyStatement[] = [];
  if (access.get.length) statements.push(new PolicyStatement({ actions: ['s3:GetObject'], resources: access.get.map((k) => bucket.arnForObjects(anyRun(k))) }));
  if (access.put.length) statements.push(new PolicyStatement({ actions: ['s3:PutObject'], resources: access.put.map((k) => bucket.arnForObjects(anyRun(k))) }));
  if (access.list.length) {
    statements.push(
      new PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': access.list.map((prefix) => anyRun(`${prefix}*`)) } },
      }),
    );
  }
  return statements;
}

/** The functions deployed (the fleet's only with orgs). */
export function grantRunStore(bucket: IBucket, functions: Partial<Record<StoreUser, IFunction>>): void {
  for (const user of Object.keys(RUN_STORE_ACCESS) as StoreUser[]) {
    const fn = functions[user];
    if (!fn) continue;
    for (const statement of runStoreStatements(bucket, user)) fn.addToRolePolicy(statement);
  }
}
