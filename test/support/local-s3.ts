// A real-protocol S3 server (s3rver) on loopback for tests of code that keeps objects in the run
// bucket, with the real S3 client pointed at it; one fresh bucket per store.
import { afterAll, beforeAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { S3RunStore } from '../../functions/store/s3-run-store.ts';

export function useLocalS3(): () => Promise<S3RunStore> {
  let server: S3rver | undefined;
  let client: S3Client | undefined;
  const dir = mkdtempSync(join(tmpdir(), 's3-test-'));
  let buckets = 0;
  beforeAll(async () => {
    server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir });
    const { port } = await server.run();
    client = new S3Client({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return async () => {
    const bucket = `run-bucket-${++buckets}`;
    await client!.send(new CreateBucketCommand({ Bucket: bucket }));
    return new S3RunStore(bucket, client!);
  };
}
