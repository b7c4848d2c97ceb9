import { genesysConfigFromEnv } from './from-env.ts';
import { SecretCredentialsSource } from './from-secret.ts';
import type { GenesysConfig } from './genesys-config.ts';

export type { GenesysConfig } from './genesys-config.ts';
export { CredentialsConfigError } from './errors.ts';

export interface CredentialsSource {
  load(options?: { fresh?: boolean }): Promise<GenesysConfig>;
}

/**
 * Where this process finds the Genesys credentials: the secret named by GENESYS_SECRET_ID (set
 * by the stack on every Lambda) or, for local runs, the GENESYS_* environment variables.
 */
export function credentialsSourceFromEnv(env: NodeJS.ProcessEnv = process.env): CredentialsSource {
  const secretId = env['GENESYS_SECRET_ID'];
  if (secretId) {
    return new SecretCredentialsSource({
      secretId,
      defaultHosts: { region: env['GENESYS_REGION'], apiUrl: env['GENESYS_API_URL'], loginUrl: env['GENESYS_LOGIN_URL'] },
    });
  }
  return { load: async () => genesysConfigFromEnv(env) };
}
