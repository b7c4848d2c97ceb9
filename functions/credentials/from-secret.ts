import { BaseProvider } from '@aws-lambda-powertools/parameters/base';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CredentialsConfigError } from './errors.ts';
import { ENV_HOST_FIELDS, hostsFrom, type GenesysConfig, type HostHints } from './genesys-config.ts';
import { lazily } from '../shared/lazily.ts';

/**
 * In AWS: the OAuth client lives in one Secrets Manager secret,
 * `{"clientId", "clientSecret", "region"?, "apiUrl"?, "loginUrl"?}`.
 */

/** Long enough to spare Secrets Manager on every invocation, short enough to pick up a rotation soon. */
export const SECRET_CACHE_SECONDS = 300;

export interface SecretSourceOptions {
  secretId: string;
  /** Region (or URLs) of the Lambda's settings, used when the secret names none. */
  defaultHosts?: HostHints;
  client?: SecretsManagerClient;
}

type SecretsManagerSdk = typeof import('@aws-sdk/client-secrets-manager');
// On the first read.
const secretsManager = lazily(() => import('@aws-sdk/client-secrets-manager'));

/**
 * Powertools' SecretsProvider, on the SDK as loaded above: the same base (the cache, maxAge,
 * forceFetch, errors wrapped as GetParameterError, its user agent) and the same read. Not that
 * class itself: its module imports @aws-sdk/client-secrets-manager statically, and esbuild hoists
 * an external's static import to the bundle's top level even when the module importing it is
 * itself imported dynamically, so every cold start would still load the client.
 */
class SecretValueProvider extends BaseProvider {
  private readonly sdk: SecretsManagerSdk;

  constructor(client: SecretsManagerClient, loaded: SecretsManagerSdk) {
    super({ awsSdkV3Client: client });
    this.sdk = loaded;
  }

  protected async _get(name: string): Promise<string | Uint8Array | undefined> {
    const result = await (this.client as SecretsManagerClient).send(new this.sdk.GetSecretValueCommand({ SecretId: name }));
    if (result.SecretString) return result.SecretString;
    return result.SecretBinary;
  }

  protected _getMultiple(): Promise<Record<string, unknown> | undefined> {
    throw new Error('Method not implemented.');
  }
}

export class SecretCredentialsSource {
  private readonly secretId: string;
  private readonly defaultHosts: HostHints;
  private readonly client: SecretsManagerClient | undefined;
  /** Made on the first read; it holds the cache, so there is one for the source's life. */
  private provider: SecretValueProvider | undefined;

  constructor(options: SecretSourceOptions) {
    this.secretId = options.secretId;
    this.defaultHosts = options.defaultHosts ?? {};
    this.client = options.client;
  }

  /** `fresh` bypasses the cache: used after Genesys refused the cached credentials, in case they were rotated. */
  async load(options: { fresh?: boolean } = {}): Promise<GenesysConfig> {
    const raw = await this.fetch(options.fresh ?? false);
    return parseSecret(raw, this.secretId, this.defaultHosts);
  }

  private async fetch(fresh: boolean): Promise<string> {
    const loaded = await secretsManager();
    const provider = (this.provider ??= new SecretValueProvider(this.client ?? new loaded.SecretsManagerClient({}), loaded));
    let value: unknown;
    try {
      value = await provider.get(this.secretId, { maxAge: SECRET_CACHE_SECONDS, forceFetch: fresh });
    } catch (err) {
      throw describeSecretsManagerError(err, this.secretId);
    }
    if (typeof value === 'string') return value;
    if (value instanceof Uint8Array) return new TextDecoder().decode(value);
    throw new CredentialsConfigError(`secret ${this.secretId}: it has no value`);
  }
}

export function parseSecret(raw: string, secretId: string, defaultHosts: HostHints = {}): GenesysConfig {
  const where = `secret ${secretId}`;
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    // JSON.parse's own message quotes the text, which is the secret: say only what is wrong.
    throw new CredentialsConfigError(`${where}: the value is not JSON; expected {"clientId": "...", "clientSecret": "..."}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new CredentialsConfigError(`${where}: the value must be a JSON object with clientId and clientSecret`);
  }
  const o = data as Record<string, unknown>;
  const problems: string[] = [];
  for (const field of ['clientId', 'clientSecret'] as const) {
    const v = o[field];
    if (v === undefined) problems.push(`field ${field} is missing`);
    else if (typeof v !== 'string' || v.trim() === '') problems.push(`field ${field} must be a non-empty string`);
  }
  for (const field of ['region', 'apiUrl', 'loginUrl'] as const) {
    if (o[field] !== undefined && typeof o[field] !== 'string') problems.push(`field ${field} must be a string`);
  }
  if (problems.length > 0) throw new CredentialsConfigError(`${where}: ${problems.join('; ')}`);
  const own: HostHints = { region: o['region'] as string, apiUrl: o['apiUrl'] as string, loginUrl: o['loginUrl'] as string };
  const hasOwn = Boolean(own.region || own.apiUrl || own.loginUrl);
  // The defaults are the function's environment: a problem with them is fixed there, not in the secret.
  const hosts = hasOwn
    ? hostsFrom(own, where)
    : hostsFrom(defaultHosts, `${where} names no hosts, so the function's environment`, ENV_HOST_FIELDS);
  return {
    credentials: { clientId: (o['clientId'] as string).trim(), clientSecret: o['clientSecret'] as string },
    hosts,
  };
}

function describeSecretsManagerError(err: unknown, secretId: string): CredentialsConfigError {
  const cause = (err as { cause?: unknown }).cause ?? err;
  const name = (cause as { name?: string }).name ?? 'Error';
  const where = `secret ${secretId}`;
  switch (name) {
    case 'ResourceNotFoundException':
      return new CredentialsConfigError(`${where}: not found in Secrets Manager (check the secret name and the region)`);
    case 'AccessDeniedException':
      return new CredentialsConfigError(`${where}: access denied; the function's role needs secretsmanager:GetSecretValue on it (and kms:Decrypt for a customer key)`);
    case 'DecryptionFailure':
      return new CredentialsConfigError(`${where}: Secrets Manager could not decrypt it with its KMS key`);
    case 'InvalidRequestException':
      return new CredentialsConfigError(`${where}: Secrets Manager refused the request (the secret may be scheduled for deletion)`);
    default:
      return new CredentialsConfigError(`${where}: could not be read from Secrets Manager (${name})`);
  }
}
