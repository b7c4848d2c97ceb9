import { genesysConfigFromEnv } from './from-env.ts';
import { SecretCredentialsSource } from './from-secret.ts';
import type { GenesysConfig } from './genesys-config.ts';
import { CredentialsConfigError } from './errors.ts';
import { orgSecretName } from '../domain/orgs.ts';

export type { GenesysConfig } from './genesys-config.ts';
export { CredentialsConfigError } from './errors.ts';

export interface CredentialsSource {
  load(options?: { fresh?: boolean }): Promise<GenesysConfig>;
}

/** The org's secret, where the deployment manages several (GENESYS_SECRET_PREFIX, set by the stack); else the one secret. */
export function secretIdFor(env: NodeJS.ProcessEnv, org: string | null | undefined): string | undefined {
  if (!org) return env['GENESYS_SECRET_ID'];
  const prefix = env['GENESYS_SECRET_PREFIX'];
  if (!prefix) throw new CredentialsConfigError(`the run names org ${JSON.stringify(org)}, but this function has no GENESYS_SECRET_PREFIX (a deployment without the orgs setting)`);
  return orgSecretName(prefix, org);
}

/**
 * Where this process finds the Genesys credentials: the secret named by GENESYS_SECRET_ID (set
 * by the stack on every Lambda), the org's own secret in a deployment that manages several, or,
 * for processes with neither, the GENESYS_* environment variables.
 */
export function credentialsSourceFromEnv(env: NodeJS.ProcessEnv = process.env, org: string | null = null): CredentialsSource {
  const secretId = secretIdFor(env, org);
  if (secretId) {
    return new SecretCredentialsSource({
      secretId,
      defaultHosts: { region: env['GENESYS_REGION'], apiUrl: env['GENESYS_API_URL'], loginUrl: env['GENESYS_LOGIN_URL'] },
    });
  }
  return { load: async () => genesysConfigFromEnv(env) };
}
