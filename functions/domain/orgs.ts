/**
 * A fleet's orgs, named by short slugs. One source for what a name may be and for everything
 * derived from it: the org's secret, its credentials' environment variables in local runs.
 */

/** Lower-case letters, digits and hyphens, starting with a letter or digit: it goes into secret names, execution names and metric dimensions. */
export const ORG_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;

export const ORG_NAME_RULE = 'a short slug: lower-case letters, digits and hyphens, at most 32 characters, starting with a letter or digit';

/** The deployment's org names for an error message: all of them, or the first ten and how many in all. */
export function listOrgNames(names: readonly string[]): string {
  return names.length > 10 ? `${names.slice(0, 10).join(', ')}, … (${names.length} in all)` : names.join(', ');
}

/** The org's Secrets Manager secret: `<prefix>/<name>`. */
export function orgSecretName(prefix: string, name: string): string {
  return `${prefix}/${name}`;
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const ORG_EXECUTION_NAME = new RegExp(`^(${ORG_NAME.source.replace(/^\^|\$$/g, '')})-${UUID}$`);

/** A fleet names each org's run `<org>-<uuid>` (infra/stack/fleet.ts, States.UUID()): the org, or null for any other name. */
export function orgOfExecutionName(name: string | undefined): string | null {
  return ORG_EXECUTION_NAME.exec(name ?? '')?.[1] ?? null;
}

/** GENESYS_CLIENT_ID_<NAME> and GENESYS_CLIENT_SECRET_<NAME>: the name upper-cased, other characters as `_`. */
export function orgCredentialVariables(name: string): { clientId: string; clientSecret: string } {
  const suffix = name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  return { clientId: `GENESYS_CLIENT_ID_${suffix}`, clientSecret: `GENESYS_CLIENT_SECRET_${suffix}` };
}

/** The org names a deployment manages (GENESYS_ORGS, comma-separated); null: a single-org deployment. */
export function orgNamesFromEnv(env: NodeJS.ProcessEnv = process.env): string[] | null {
  const v = env['GENESYS_ORGS']?.trim();
  if (!v) return null;
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

/** The environment value for GENESYS_ORGS. */
export function orgNamesEnvValue(names: readonly string[]): string {
  return names.join(',');
}
