import type { GenesysCredentials } from '../genesys/client.ts';
import { BASE_URL_FIELDS, resolveHosts, type BaseUrlFields, type GenesysHosts } from '../genesys/regions.ts';
import { CredentialsConfigError } from './errors.ts';

/** Everything needed to talk to one org: where it is and who we are. */
export interface GenesysConfig {
  credentials: GenesysCredentials;
  hosts: GenesysHosts;
}

export interface HostHints {
  region?: string | undefined;
  apiUrl?: string | undefined;
  loginUrl?: string | undefined;
}

/** The names the hosts go by in the environment, so an error names the variable to fix. */
export const ENV_HOST_FIELDS: BaseUrlFields = { apiUrl: 'GENESYS_API_URL', loginUrl: 'GENESYS_LOGIN_URL' };

/**
 * Hosts from explicit URLs or a region. Both URLs or neither: half a pair is a mistake that
 * would otherwise send the token request to one place and the API calls to another.
 */
export function hostsFrom(hints: HostHints, source: string, fields: BaseUrlFields = BASE_URL_FIELDS): GenesysHosts {
  const { region, apiUrl, loginUrl } = hints;
  if (apiUrl || loginUrl) {
    if (!apiUrl || !loginUrl) {
      throw new CredentialsConfigError(`${source}: ${apiUrl ? fields.loginUrl : fields.apiUrl} is missing; give ${fields.apiUrl} and ${fields.loginUrl} together`);
    }
    try {
      return resolveHosts({ apiUrl, loginUrl }, fields);
    } catch (err) {
      throw new CredentialsConfigError(`${source}: ${(err as Error).message}`);
    }
  }
  if (!region) {
    throw new CredentialsConfigError(`${source}: no Genesys Cloud region; set region (e.g. mypurecloud.com) or apiUrl and loginUrl`);
  }
  try {
    return resolveHosts({ region });
  } catch (err) {
    throw new CredentialsConfigError(`${source}: ${(err as Error).message}`);
  }
}
