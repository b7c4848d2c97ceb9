import { credentialsSourceFromEnv, type CredentialsSource } from '../credentials/index.ts';
import { runStoreFromEnv, type RunStore } from '../store/index.ts';

/**
 * Clients kept for the life of a Lambda container (the secret cache, the S3 client). Keyed on
 * the settings they were built from, so a process that changes them (a local run against another
 * simulator) gets fresh ones.
 */
/** One per org (a fleet's runs share the functions, each run its org's secret). */
const credentials = new Map<string, CredentialsSource>();
let store: { key: string; store: RunStore } | undefined;

export function sharedCredentials(org: string | null = null, env: NodeJS.ProcessEnv = process.env): CredentialsSource {
  const key = [org ?? '', env['GENESYS_SECRET_ID'], env['GENESYS_SECRET_PREFIX'], env['GENESYS_REGION'], env['GENESYS_API_URL'], env['GENESYS_LOGIN_URL'], env['AWS_ENDPOINT_URL']].join('|');
  let source = credentials.get(key);
  if (!source) {
    source = credentialsSourceFromEnv(env, org);
    credentials.set(key, source);
  }
  return source;
}

export function sharedRunStore(env: NodeJS.ProcessEnv = process.env): RunStore {
  // The endpoint is part of the key only for processes that talk to more than one (local runs, tests).
  const key = `${env['RUN_BUCKET'] ?? ''}|${env['AWS_ENDPOINT_URL'] ?? ''}`;
  if (store?.key !== key) store = { key, store: runStoreFromEnv(env) };
  return store.store;
}

/**
 * What a new Lambda container starts without: the cached secret and clients. A local run starts
 * its functions as new containers (a run against another simulator must not be served the last
 * run's cached secret, which in AWS could only change by rotation).
 */
export function startAsNewContainer(): void {
  credentials.clear();
  store = undefined;
}
