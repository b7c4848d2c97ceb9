import type { ClientSettings } from '../credentials/with-client.ts';
import type { GenesysPaths, ResponseInfo } from '../genesys/client.ts';

/** Client settings every function shares, from deployment settings (GENESYS_TIMEOUT_MS, GENESYS_*_PATH). */
export function clientSettings(onResponse?: (info: ResponseInfo) => void, env: NodeJS.ProcessEnv = process.env): ClientSettings {
  const timeout = Number(env['GENESYS_TIMEOUT_MS']);
  // The index endpoints come from the seed tutorial, not Genesys' public reference: overridable without a code change.
  const paths: Partial<GenesysPaths> = {};
  if (env['GENESYS_INDEXES_PATH']) paths.indexes = env['GENESYS_INDEXES_PATH'];
  if (env['GENESYS_ANALYTICS_QUERY_PATH']) paths.analyticsQuery = env['GENESYS_ANALYTICS_QUERY_PATH'];
  return {
    ...(Number.isFinite(timeout) && timeout > 0 ? { timeoutMs: timeout } : {}),
    ...(Object.keys(paths).length > 0 ? { paths } : {}),
    ...(onResponse ? { onResponse } : {}),
  };
}
