import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { RunStoreError, type RunStore } from './run-store.ts';

export class S3RunStore implements RunStore {
  private readonly bucket: string;
  private readonly s3: S3Client;

  constructor(bucket: string, s3: S3Client = new S3Client({})) {
    this.bucket = bucket;
    this.s3 = s3;
  }

  async putJson(key: string, value: unknown): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: JSON.stringify(value), ContentType: 'application/json' }),
    );
  }

  async putText(key: string, body: string, contentType: string): Promise<void> {
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }));
  }

  async getJson<T>(key: string): Promise<T> {
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const text = await res.Body?.transformToString('utf-8');
      if (text === undefined) throw new RunStoreError(`${this.locate(key)} is empty`);
      return JSON.parse(text) as T;
    } catch (err) {
      if (err instanceof NoSuchKey) throw new RunStoreError(`${this.locate(key)} does not exist`);
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  locate(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }
}
