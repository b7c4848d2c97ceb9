import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { genesysConfigFromEnv } from '../functions/credentials/from-env.ts';
import { SecretCredentialsSource, parseSecret } from '../functions/credentials/from-secret.ts';
import { CredentialsConfigError } from '../functions/credentials/errors.ts';

const SECRET = 'sEcReT-value-that-must-never-leak-42';
const sm = mockClient(SecretsManagerClient);

function source() {
  return new SecretCredentialsSource({
    secretId: 'genesys/optimizer',
    defaultHosts: { region: 'eu-west-1' },
    client: new SecretsManagerClient({ region: 'us-east-1' }),
  });
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

describe('Secrets Manager credentials', () => {
  beforeEach(() => sm.reset());

  it('reads clientId/clientSecret and resolves the region the secret names', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ clientId: 'cid', clientSecret: SECRET, region: 'mypurecloud.de' }) });
    const config = await source().load();
    expect(config.credentials).toEqual({ clientId: 'cid', clientSecret: SECRET });
    expect(config.hosts).toEqual({ apiUrl: 'https://api.mypurecloud.de', loginUrl: 'https://login.mypurecloud.de' });
    expect(sm.commandCalls(GetSecretValueCommand)[0]?.args[0].input.SecretId).toBe('genesys/optimizer');
  });

  it('falls back to the function settings for the hosts, and accepts explicit URLs', async () => {
    sm.on(GetSecretValueCommand).resolvesOnce({ SecretString: JSON.stringify({ clientId: 'cid', clientSecret: SECRET }) });
    expect((await source().load()).hosts.apiUrl).toBe('https://api.mypurecloud.ie');
    const explicit = parseSecret(JSON.stringify({ clientId: 'c', clientSecret: SECRET, apiUrl: 'http://127.0.0.1:9/', loginUrl: 'http://127.0.0.1:9' }), 's');
    expect(explicit.hosts).toEqual({ apiUrl: 'http://127.0.0.1:9', loginUrl: 'http://127.0.0.1:9' });
  });

  it('caches the secret for minutes, and re-reads it when asked for a fresh copy', async () => {
    sm.on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: JSON.stringify({ clientId: 'old', clientSecret: SECRET }) })
      .resolves({ SecretString: JSON.stringify({ clientId: 'new', clientSecret: SECRET }) });
    const s = source();
    expect((await s.load()).credentials.clientId).toBe('old');
    expect((await s.load()).credentials.clientId).toBe('old');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect((await s.load({ fresh: true })).credentials.clientId).toBe('new');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  const bad: Array<[string, () => void, RegExp]> = [
    ['missing secret', () => sm.on(GetSecretValueCommand).rejects(Object.assign(new Error('Secrets Manager can’t find the specified secret.'), { name: 'ResourceNotFoundException' })), /secret genesys\/optimizer: not found/],
    ['access denied', () => sm.on(GetSecretValueCommand).rejects(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' })), /access denied; .*secretsmanager:GetSecretValue/],
    ['not JSON', () => sm.on(GetSecretValueCommand).resolves({ SecretString: `clientSecret=${SECRET}` }), /the value is not JSON/],
    ['a JSON array', () => sm.on(GetSecretValueCommand).resolves({ SecretString: `["${SECRET}"]` }), /must be a JSON object/],
    ['clientSecret missing', () => sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ clientId: 'cid' }) }), /field clientSecret is missing/],
    ['clientId not a string', () => sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ clientId: 7, clientSecret: SECRET }) }), /field clientId must be a non-empty string/],
    ['unknown region', () => sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ clientId: 'c', clientSecret: SECRET, region: 'mars-1' }) }), /unknown Genesys Cloud region "mars-1".*mypurecloud\.com \(us-east-1\)/],
    ['half a URL pair', () => sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ clientId: 'c', clientSecret: SECRET, apiUrl: 'https://api.example.com' }) }), /loginUrl is missing/],
    ['empty secret', () => sm.on(GetSecretValueCommand).resolves({}), /has no value/],
    ['plain http to a remote API host', () => sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ clientId: 'c', clientSecret: SECRET, apiUrl: 'http://genesys-proxy.internal:8080', loginUrl: 'https://login.example.com' }) }), /^secret genesys\/optimizer: apiUrl: plain http to genesys-proxy\.internal:8080 would send the access tokens in clear; use https/],
    ['plain http to a remote login host', () => sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ clientId: 'c', clientSecret: SECRET, apiUrl: 'https://api.example.com', loginUrl: 'http://10.0.0.7' }) }), /^secret genesys\/optimizer: loginUrl: plain http to 10\.0\.0\.7 would send the OAuth client secret in clear/],
  ];
  for (const [label, arrange, message] of bad) {
    it(`fails clearly, without the secret value, on ${label}`, async () => {
      arrange();
      const err = await failure(source().load());
      expect(err).toBeInstanceOf(CredentialsConfigError);
      expect(err.name).toBe('Config.Credentials');
      expect(err.message).toMatch(message);
      expect(`${err.message} ${err.stack} ${JSON.stringify(err)}`).not.toContain(SECRET);
    });
  }
});

describe('plain http only to loopback', () => {
  const env = (apiUrl: string, loginUrl: string) => ({ GENESYS_CLIENT_ID: 'c', GENESYS_CLIENT_SECRET: SECRET, GENESYS_API_URL: apiUrl, GENESYS_LOGIN_URL: loginUrl });
  const secret = (apiUrl: string, loginUrl: string) => JSON.stringify({ clientId: 'c', clientSecret: SECRET, apiUrl, loginUrl });

  it('accepts http to 127.0.0.0/8, localhost and [::1], and https anywhere', () => {
    for (const url of ['http://127.0.0.1:8080', 'http://127.10.20.30', 'http://127.1:9', 'http://LOCALHOST:1', 'http://[::1]:8443', 'https://api.example.com', 'https://10.0.0.7']) {
      expect(genesysConfigFromEnv(env(url, url)).hosts.apiUrl).toBe(new URL(url).toString().replace(/\/$/, ''));
      expect(parseSecret(secret(url, url), 's').hosts.loginUrl).toBe(new URL(url).toString().replace(/\/$/, ''));
    }
  });

  it('refuses http anywhere else, naming the variable or field, never the secret', () => {
    const remote = ['http://api.example.com', 'http://10.0.0.7', 'http://localhost.example.com', 'http://127.0.0.1.nip.io', 'http://[::2]', 'http://0.0.0.0:8080', 'http://[::ffff:10.0.0.7]'];
    for (const url of remote) {
      const fromEnv = [
        [() => genesysConfigFromEnv(env(url, 'http://127.0.0.1:1')), /GENESYS_API_URL: plain http to .* would send the access tokens in clear; use https \(http is accepted only for loopback: 127\.0\.0\.0\/8, localhost, \[::1\]\)$/],
        [() => genesysConfigFromEnv(env('http://127.0.0.1:1', url)), /GENESYS_LOGIN_URL: plain http to .* would send the OAuth client secret in clear/],
        [() => parseSecret(secret(url, 'https://login.example.com'), 'genesys/optimizer'), /^secret genesys\/optimizer: apiUrl: plain http to /],
        [() => parseSecret(secret('https://api.example.com', url), 'genesys/optimizer'), /^secret genesys\/optimizer: loginUrl: plain http to /],
        // The secret names no hosts: the function's environment supplied them, and is what to fix.
        [() => parseSecret(JSON.stringify({ clientId: 'c', clientSecret: SECRET }), 'g', { apiUrl: url, loginUrl: 'http://localhost:1' }), /^secret g names no hosts, so the function's environment: GENESYS_API_URL: plain http/],
      ] as const;
      for (const [load, message] of fromEnv) {
        let err: unknown;
        try {
          load();
        } catch (e) {
          err = e;
        }
        expect(err, url).toBeInstanceOf(CredentialsConfigError);
        expect((err as Error).message, url).toMatch(message);
        expect((err as Error).message).not.toContain(SECRET);
      }
    }
  });
});

describe('environment credentials', () => {
  it('reads GENESYS_CLIENT_ID/SECRET with a region or explicit URLs', () => {
    expect(genesysConfigFromEnv({ GENESYS_CLIENT_ID: 'c', GENESYS_CLIENT_SECRET: SECRET, GENESYS_REGION: 'us-west-2' }).hosts.loginUrl).toBe(
      'https://login.usw2.pure.cloud',
    );
    expect(
      genesysConfigFromEnv({ GENESYS_CLIENT_ID: 'c', GENESYS_CLIENT_SECRET: SECRET, GENESYS_API_URL: 'http://localhost:1', GENESYS_LOGIN_URL: 'http://localhost:2' }).hosts,
    ).toEqual({ apiUrl: 'http://localhost:1', loginUrl: 'http://localhost:2' });
  });

  it('names the missing variables', () => {
    expect(() => genesysConfigFromEnv({ GENESYS_REGION: 'mypurecloud.com' })).toThrow(/GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET are not set/);
    expect(() => genesysConfigFromEnv({ GENESYS_CLIENT_ID: 'c', GENESYS_CLIENT_SECRET: SECRET })).toThrow(/no Genesys Cloud region/);
  });
});
