/**
 * The stack's settings from CDK context (`-c key=value` on the command line, or "context" in
 * cdk.json). Command-line values arrive as strings, cdk.json values as JSON: both are accepted.
 * The keys are listed in infra/stack/app.ts.
 */
import type { OptimizerStackProps } from './optimizer-stack.ts';
import { NOTIFICATION_FORMATS } from '../../functions/notify/format.ts';
import { parseOrgSettings, type OrgSetting } from '../../functions/domain/fleet.ts';
import { InputError } from '../../functions/domain/input-error.ts';
import { SCHEDULE_TARGETS } from './schedule.ts';

export type ContextReader = (key: string) => unknown;

export interface AppSettings {
  stackName: string;
  /** Whether `cdk synth`/`deploy` runs the cdk-nag AwsSolutions checks (default true). */
  nag: boolean;
  props: OptimizerStackProps;
}

function str(read: ContextReader, key: string): string | undefined {
  const v = read(key);
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new Error(`context ${key}: expected a string, got ${JSON.stringify(v)}`);
  return v;
}

function bool(read: ContextReader, key: string): boolean | undefined {
  const v = read(key);
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new Error(`context ${key}: expected true or false, got ${JSON.stringify(v)}`);
}

function int(read: ContextReader, key: string, unit = 'days'): number | undefined {
  const v = read(key);
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n <= 0) throw new Error(`context ${key}: expected a whole number of ${unit}, got ${JSON.stringify(v)}`);
  return n;
}

/** A Genesys API path: absolute, no host, no query (the client adds the index id after it). */
function apiPath(read: ContextReader, key: string): string | undefined {
  const v = str(read, key);
  if (v === undefined) return undefined;
  if (!/^\/api\/v2\/[A-Za-z0-9/_-]+$/.test(v)) throw new Error(`context ${key}: expected a path such as /api/v2/search/indexes (no host, no query), got ${JSON.stringify(v)}`);
  return v;
}

function oneOf<T extends string>(read: ContextReader, key: string, allowed: readonly T[]): T | undefined {
  const v = str(read, key);
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) throw new Error(`context ${key}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

/** A JSON value: from cdk.json as it is, from the command line as a string to parse. */
function json(read: ContextReader, key: string): unknown {
  const v = read(key);
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch (err) {
    throw new Error(`context ${key}: not valid JSON (${(err as Error).message})`);
  }
}

function jsonObject(read: ContextReader, key: string): Record<string, unknown> | undefined {
  const v = json(read, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`context ${key}: expected a JSON object, got ${JSON.stringify(v)}`);
  return v as Record<string, unknown>;
}

/** The fleet's orgs (a JSON array); each org's input is checked as its runs will check it. */
function orgs(read: ContextReader, key: string): OrgSetting[] | undefined {
  const v = json(read, key);
  if (v === undefined) return undefined;
  try {
    return parseOrgSettings(v, key);
  } catch (err) {
    if (err instanceof InputError) throw new Error(`context ${err.message}`);
    throw err;
  }
}

export function settingsFromContext(read: ContextReader): AppSettings {
  return {
    stackName: str(read, 'stackName') ?? 'GenesysIndexOptimizer',
    nag: bool(read, 'nag') ?? true,
    props: {
      secretName: str(read, 'secretName'),
      genesysRegion: str(read, 'genesysRegion'),
      runRetentionDays: int(read, 'runRetentionDays'),
      logRetentionDays: int(read, 'logRetentionDays'),
      scheduleEnabled: bool(read, 'scheduleEnabled'),
      scheduleExpression: str(read, 'scheduleExpression'),
      scheduleTimezone: str(read, 'scheduleTimezone'),
      scheduleInput: jsonObject(read, 'scheduleInput'),
      scheduleTarget: oneOf(read, 'scheduleTarget', SCHEDULE_TARGETS),
      alarmEmail: str(read, 'alarmEmail'),
      notificationFormat: oneOf(read, 'notificationFormat', NOTIFICATION_FORMATS),
      genesysTimeoutMs: int(read, 'genesysTimeoutMs', 'milliseconds'),
      genesysIndexesPath: apiPath(read, 'genesysIndexesPath'),
      genesysAnalyticsQueryPath: apiPath(read, 'genesysAnalyticsQueryPath'),
      orgs: orgs(read, 'orgs'),
    },
  };
}
