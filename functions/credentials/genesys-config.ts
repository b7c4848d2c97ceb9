import type { GenesysCredentials } from '../genesys/client.ts';
import { resolveHosts, type GenesysHosts } from '../genesys/regions.ts';
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

/**
 * Hosts from explicit URLs or a region. Both URLs or neither: half a pair is a mistake that
 * would otherwise send the token request to one place and the API calls to another.
 */
export function hostsFrom(hints: HostHints, source: string): GenesysHosts {
  const { region, apiUrl, loginUrl } = hints;
  if (apiUrl || loginUrl) {
    if (!apiUrl || !loginUrl) {
      throw new CredentialsConfigError(`${source}: ${apiUrl ? 'loginUrl' : 'apiUrl'} is missing; give apiUrl and loginUrl together`);
    }
    try {
      return resolveHosts({ apiUrl, loginUrl });
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
