import { CredentialsConfigError } from './errors.ts';
import { ENV_HOST_FIELDS, hostsFrom, type GenesysConfig } from './genesys-config.ts';

/** Local runs: credentials from GENESYS_CLIENT_ID / GENESYS_CLIENT_SECRET, hosts from GENESYS_REGION or GENESYS_API_URL + GENESYS_LOGIN_URL. */
export function genesysConfigFromEnv(env: NodeJS.ProcessEnv = process.env): GenesysConfig {
  const clientId = env['GENESYS_CLIENT_ID']?.trim();
  const clientSecret = env['GENESYS_CLIENT_SECRET'];
  const missing = [!clientId && 'GENESYS_CLIENT_ID', !clientSecret && 'GENESYS_CLIENT_SECRET'].filter(Boolean);
  if (missing.length > 0) {
    throw new CredentialsConfigError(`environment: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set`);
  }
  return {
    credentials: { clientId: clientId!, clientSecret: clientSecret! },
    hosts: hostsFrom(
      { region: env['GENESYS_REGION'], apiUrl: env['GENESYS_API_URL'], loginUrl: env['GENESYS_LOGIN_URL'] },
      'environment (GENESYS_REGION or GENESYS_API_URL/GENESYS_LOGIN_URL)',
      ENV_HOST_FIELDS,
    ),
  };
}
