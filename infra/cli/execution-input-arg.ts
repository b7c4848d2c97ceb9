import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';

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

/** node:util parseArgs, strict, with its complaints as usage errors. */
export function parseStrictArgs<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** The execution input of both commands: --input, then --dry-run and --index on top, refusing contradictions. */
export function executionInputFromArgs(inputArg: string | undefined, dryRun: boolean, indexes: string[]): Record<string, unknown> {
  const input = readInputArg(inputArg);
  if (dryRun) {
    if (input['dryRun'] !== undefined && input['dryRun'] !== true) throw new UsageError('--dry-run contradicts "dryRun" in --input');
    input['dryRun'] = true;
  }
  if (indexes.length > 0) {
    if (input['indexIds'] !== undefined) throw new UsageError('give the indexes either with --index or as "indexIds" in --input, not both');
    if (indexes.some((id) => id.trim() === '')) throw new UsageError('--index: an index id cannot be empty');
    input['indexIds'] = [...new Set(indexes)];
  }
  return input;
}
