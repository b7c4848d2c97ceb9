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

/** What a configuration error calls each base URL: the secret's field names, or the environment's variables. */
export interface BaseUrlFields {
  apiUrl: string;
  loginUrl: string;
}
export const BASE_URL_FIELDS: BaseUrlFields = { apiUrl: 'apiUrl', loginUrl: 'loginUrl' };

/**
 * Loopback only: what a local simulator or a sidecar proxy listens on. The URL parser has already
 * reduced other spellings (127.1, 0x7f000001, [0:0:0:0:0:0:0:1]) to these.
 */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

function normaliseBaseUrl(which: 'apiUrl' | 'loginUrl', value: string, fields: BaseUrlFields): string {
  const field = fields[which];
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
  // The login service gets the client secret (Basic) and the API the bearer tokens: over plain
  // http anyone on the path reads them. Only a host that never leaves this machine may skip TLS.
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    const carried = which === 'loginUrl' ? 'the OAuth client secret' : 'the access tokens';
    throw new InvalidBaseUrlError(
      `${field}: plain http to ${url.host} would send ${carried} in clear; use https (http is accepted only for loopback: 127.0.0.0/8, localhost, [::1])`,
    );
  }
  return url.toString().replace(/\/+$/, '');
}

export function resolveHosts(selection: HostSelection, fields: BaseUrlFields = BASE_URL_FIELDS): GenesysHosts {
  if ('region' in selection) {
    const domain = domainForRegion(selection.region);
    return { apiUrl: `https://api.${domain}`, loginUrl: `https://login.${domain}` };
  }
  return {
    apiUrl: normaliseBaseUrl('apiUrl', selection.apiUrl, fields),
    loginUrl: normaliseBaseUrl('loginUrl', selection.loginUrl, fields),
  };
}
