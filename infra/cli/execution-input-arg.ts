import { readFileSync } from 'node:fs';

export class UsageError extends Error {
  override name = 'UsageError';
}

/** `--input '{"dryRun":true}'` or `--input @file.json`, as in the AWS CLI. */
export function readInputArg(value: string | undefined): Record<string, unknown> {
  if (value === undefined) return {};
  let text = value;
  if (value.startsWith('@')) {
    try {
      text = readFileSync(value.slice(1), 'utf8');
    } catch (err) {
      throw new UsageError(`--input: cannot read ${value.slice(1)}: ${(err as Error).message}`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--input: not valid JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError('--input: must be a JSON object');
  return parsed as Record<string, unknown>;
}
