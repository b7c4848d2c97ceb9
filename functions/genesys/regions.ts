/**
 * Genesys Cloud regions, named by domain (the contract's table). The AWS-style names are
 * accepted too because operators think in the AWS region their org is homed in.
 */
export const REGION_DOMAINS: Readonly<Record<string, string>> = {
  'us-east-1': 'mypurecloud.com',
  'us-east-2': 'use2.us-gov-pure.cloud',
  'us-west-2': 'usw2.pure.cloud',
  'ca-central-1': 'cac1.pure.cloud',
  'sa-east-1': 'sae1.pure.cloud',
  'mx-central-1': 'mxc1.pure.cloud',
  'eu-west-1': 'mypurecloud.ie',
  'eu-west-2': 'euw2.pure.cloud',
  'eu-central-1': 'mypurecloud.de',
  'eu-central-2': 'euc2.pure.cloud',
  'ap-south-1': 'aps1.pure.cloud',
  'ap-northeast-1': 'mypurecloud.jp',
  'ap-northeast-2': 'apne2.pure.cloud',
  'ap-northeast-3': 'apne3.pure.cloud',
  'ap-southeast-1': 'apse1.pure.cloud',
  'ap-southeast-2': 'mypurecloud.com.au',
  'me-central-1': 'mec1.pure.cloud',
};

export interface GenesysHosts {
  /** Base URL of the Platform API, e.g. https://api.mypurecloud.com */
  apiUrl: string;
  /** Base URL of the login service that issues OAuth tokens, e.g. https://login.mypurecloud.com */
  loginUrl: string;
}

export type HostSelection = { region: string } | { apiUrl: string; loginUrl: string };

export class UnknownRegionError extends Error {
  override name = 'Config.UnknownRegion';
}

export class InvalidBaseUrlError extends Error {
  override name = 'Config.InvalidBaseUrl';
}

const KNOWN_DOMAINS = new Set(Object.values(REGION_DOMAINS));

export function domainForRegion(region: string): string {
  const wanted = region.trim().toLowerCase();
  if (KNOWN_DOMAINS.has(wanted)) return wanted;
  const domain = REGION_DOMAINS[wanted];
  if (domain) return domain;
  const known = Object.entries(REGION_DOMAINS)
    .map(([aws, dom]) => `${dom} (${aws})`)
    .join(', ');
  throw new UnknownRegionError(
    `region: unknown Genesys Cloud region "${region}". Known regions: ${known}. ` +
      'For any other deployment give explicit apiUrl and loginUrl.',
  );
}

function normaliseBaseUrl(field: 'apiUrl' | 'loginUrl', value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidBaseUrlError(`${field}: "${value}" is not an absolute URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidBaseUrlError(`${field}: "${value}" must be an http(s) URL`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new InvalidBaseUrlError(`${field}: give a base URL only, without credentials, query or fragment`);
  }
  return url.toString().replace(/\/+$/, '');
}

export function resolveHosts(selection: HostSelection): GenesysHosts {
  if ('region' in selection) {
    const domain = domainForRegion(selection.region);
    return { apiUrl: `https://api.${domain}`, loginUrl: `https://login.${domain}` };
  }
  return {
    apiUrl: normaliseBaseUrl('apiUrl', selection.apiUrl),
    loginUrl: normaliseBaseUrl('loginUrl', selection.loginUrl),
  };
}
