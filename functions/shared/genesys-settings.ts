import type { ClientSettings } from '../credentials/with-client.ts';
import type { ResponseInfo } from '../genesys/client.ts';

/** Client settings every function shares; the timeout is a deployment setting (GENESYS_TIMEOUT_MS). */
export function clientSettings(onResponse?: (info: ResponseInfo) => void, env: NodeJS.ProcessEnv = process.env): ClientSettings {
  const timeout = Number(env['GENESYS_TIMEOUT_MS']);
  return {
    ...(Number.isFinite(timeout) && timeout > 0 ? { timeoutMs: timeout } : {}),
    ...(onResponse ? { onResponse } : {}),
  };
}
