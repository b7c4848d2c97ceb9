/**
 * The floor for a cold import: what any function of the stack pays before its own code, since
 * every one of them talks to S3 (the run store) and logs with Powertools. The bench bundles this
 * file exactly as it bundles the handlers and reports each handler's import time as a ratio to it,
 * which stays meaningful on a machine faster or slower than Lambda's, where milliseconds do not.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { Logger } from '@aws-lambda-powertools/logger';

export const s3 = new S3Client({});
export const logger = new Logger();

export const handler = async (): Promise<void> => {};
