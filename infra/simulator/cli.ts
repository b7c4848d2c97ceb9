// Runs the simulator in the foreground for local runs and demos:
//   node infra/simulator/cli.ts [--port N] [--host H] [--scenario FILE]
import { parseArgs } from 'node:util';
import { ScenarioError } from './scenario.ts';
import { DEMO_SCENARIO_PATH, readScenarioFile } from './scenario-file.ts';
import { startSimulator } from './server.ts';
import type { RecordedRequest } from './server.ts';

const USAGE = 'usage: node infra/simulator/cli.ts [--port N] [--host HOST] [--scenario FILE]';

function die(message: string): never {
  process.stderr.write(`simulator: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parseCli(argv: string[]): { port: number; host: string; scenario: string } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        scenario: { type: 'string', short: 's' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    die((err as Error).message);
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n  --port 0 (default) picks a free port; the scenario defaults to the built-in demo.\n`);
    process.exit(0);
  }
  const portText = values.port ?? '0';
  if (!/^[0-9]+$/.test(portText) || Number(portText) > 65535) die(`--port must be an integer 0-65535, got "${portText}"`);
  return { port: Number(portText), host: values.host ?? '127.0.0.1', scenario: values.scenario ?? DEMO_SCENARIO_PATH };
}

function logLine(r: RecordedRequest): string {
  const status = r.status === 0 ? 'RESET' : String(r.status);
  const page = r.pageNumber === undefined ? '' : ` page=${r.pageNumber}`;
  const fault = r.faulted === true ? ' (fault)' : '';
  return `${new Date(r.at).toISOString()} ${r.method} ${r.path}${page} ${status}${fault}\n`;
}

async function main(): Promise<void> {
  const args = parseCli(process.argv.slice(2));
  let scenario;
  try {
    scenario = await readScenarioFile(args.scenario);
  } catch (err) {
    if (err instanceof ScenarioError) die(err.message);
    throw err;
  }
  let sim;
  try {
    sim = await startSimulator({
      scenario,
      port: args.port,
      host: args.host,
      onRequest: (r) => process.stdout.write(logLine(r)),
    });
  } catch (err) {
    die(`cannot listen on ${args.host}:${args.port}: ${(err as Error).message}`);
  }
  process.stdout.write(
    [
      `Genesys Cloud simulator: scenario "${scenario.name}" (${scenario.indexes.length} indexes)`,
      `  base URL (API and login): ${sim.url}`,
      `  client id:                ${sim.credentials.clientId}`,
      `  client secret:            ${sim.credentials.clientSecret}`,
      '  Ctrl-C to stop',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = (): void => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stdout.write('simulator: stopping\n');
    void sim.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

await main();
