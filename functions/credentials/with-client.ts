import { GenesysClient, type GenesysClientOptions } from '../genesys/client.ts';
import { CredentialsInvalidError } from '../genesys/errors.ts';
import type { GenesysConfig } from './genesys-config.ts';
import type { CredentialsSource } from './index.ts';

export type ClientSettings = Omit<GenesysClientOptions, 'hosts' | 'credentials'>;

/**
 * Runs `work` with a client for the configured org. When Genesys refuses the credentials, the
 * secret is read again (bypassing the cache): if it was rotated, the work is tried once more
 * with the new one; if not, the refusal stands.
 */
export async function withGenesysClient<T>(
  source: CredentialsSource,
  settings: ClientSettings,
  work: (client: GenesysClient, config: GenesysConfig) => Promise<T>,
): Promise<T> {
  const config = await source.load();
  try {
    return await work(new GenesysClient({ ...settings, ...config }), config);
  } catch (err) {
    if (!(err instanceof CredentialsInvalidError)) throw err;
    const fresh = await source.load({ fresh: true });
    const rotated =
      fresh.credentials.clientId !== config.credentials.clientId ||
      fresh.credentials.clientSecret !== config.credentials.clientSecret;
    if (!rotated) throw err;
    return work(new GenesysClient({ ...settings, ...fresh }), fresh);
  }
}
