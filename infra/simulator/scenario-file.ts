// Reading scenarios from disk, kept apart from scenario.ts so the parser stays free of I/O.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseScenario, ScenarioError } from './scenario.ts';
import type { Scenario } from './scenario.ts';

export const DEMO_SCENARIO_PATH = fileURLToPath(new URL('./demo-scenario.json', import.meta.url));

export async function readScenarioFile(path: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ScenarioError(`cannot read scenario file ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ScenarioError(`scenario file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return parseScenario(json);
}

export function loadDemoScenario(): Promise<Scenario> {
  return readScenarioFile(DEMO_SCENARIO_PATH);
}
