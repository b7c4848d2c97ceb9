/**
 * `npm run bench:quotas -- [--indexes N]`: one clean run of a large org (default 10,000 indexes)
 * through the real state machine under everything a local run enforces (IAM, the 256 KiB payload
 * quota, the 25,000-event history quota, the Distributed Map's ItemReader and ResultWriter), to
 * show that an org of that size fits Step Functions as deployed. Too slow for the test suite, which
 * runs 500 clean and 2,000 failing indexes. Exit 0 when every index was optimized and no quota or
 * IAM check failed; 1 otherwise; 2 on bad usage.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MAX_API_BUDGET_PER_MINUTE } from '../../functions/domain/execution-input.ts';
import { runLocally } from '../local/run-local.ts';
import { MAX_HISTORY_EVENTS, MAX_PAYLOAD_BYTES } from '../local/quotas.ts';
import { parseScenario } from '../simulator/scenario.ts';
import { startSimulator } from '../simulator/server.ts';
import { generatedIndex } from './org.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { indexes: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) {
    say('Usage: npm run bench:quotas -- [--indexes N]   (default 10000)');
    return 0;
  }
  const n = Number(values.indexes ?? 10_000);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`--indexes: expected a whole number, got ${values.indexes}\n`);
    return 2;
  }
  // Indexes that refresh at once, and the largest budget the input allows: the run is as fast as the
  // local machine goes, and what is measured is the state machine's size, not the API's pace.
  const indexes = Array.from({ length: n }, (_, i) => ({ ...(generatedIndex(i, 0) as object), behaviour: { refreshSeconds: 0 } }));
  const sim = await startSimulator({ scenario: parseScenario({ org: { rateLimitPerMinute: 10_000_000, pageSizeCap: 100 }, indexes }) });
  const dir = await mkdtemp(join(tmpdir(), 'quota-run-'));
  let done = 0;
  const started = Date.now();
  const timer = setInterval(() => say(`${done}/${n} indexes done, ${Math.round((Date.now() - started) / 1000)} s`), 15_000);
  timer.unref();
  try {
    const r = await runLocally({
      input: { apiBudgetPerMinute: MAX_API_BUDGET_PER_MINUTE, maxConcurrency: 40, timing: { settleSeconds: 0, healthPollSeconds: 1, healthTimeoutSeconds: 60 } },
      target: { apiUrl: sim.apiUrl, loginUrl: sim.loginUrl, ...sim.credentials },
      storeDir: dir,
      onLogLine: () => {},
      onEvent: (e) => {
        if (e.type === 'MapIterationSucceeded' || e.type === 'MapIterationFailed') done++;
      },
    });
    const s = r.report?.summary;
    say('');
    say(`${n} indexes: ${r.status}${r.error ? ` (${r.error.name}: ${r.error.cause})` : ''} in ${Math.round((Date.now() - started) / 1000)} s`);
    say(`  report: ${s ? `${s.optimized} optimized, ${s.skipped} skipped, ${s.failed} failed` : 'none'}`);
    say(`  largest state input or output: ${r.maxPayloadBytes} bytes (quota ${MAX_PAYLOAD_BYTES})`);
    say(`  parent execution history: ${r.historyEvents} events (quota ${MAX_HISTORY_EVENTS}); state transitions in all: ${r.transitions}`);
    say(`  AWS calls denied by IAM: ${r.denials.length}`);
    return r.status === 'SUCCEEDED' && s?.optimized === n && r.denials.length === 0 ? 0 : 1;
  } finally {
    clearInterval(timer);
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
