import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { verdict, type GuardRequest, type GuardVerdict, type RunGuard, type RunningExecution } from './run-guard.ts';

/**
 * Locally: the local runner registers each execution it runs as a file in this directory (as
 * Step Functions keeps its executions); one whose process is gone is not running any more.
 */
export interface LocalExecutionRecord {
  executionId: string;
  startTime: string;
  dryRun: boolean;
  pid: number;
  /** Which org it runs against (API base URL or region), so runs on other orgs never block. */
  target: string;
}

export const LOCAL_EXECUTIONS_DIR = 'executions';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class LocalRunGuard implements RunGuard {
  private readonly dir: string;
  private readonly target: string;

  constructor(storeDir: string, target: string) {
    this.dir = join(storeDir, LOCAL_EXECUTIONS_DIR);
    this.target = target;
  }

  async check(request: GuardRequest): Promise<GuardVerdict> {
    let files: string[];
    try {
      files = await readdir(this.dir);
    } catch {
      return { proceed: true };
    }
    const running: RunningExecution[] = [];
    for (const file of files.filter((f) => f.endsWith('.json'))) {
      try {
        const record = JSON.parse(await readFile(join(this.dir, file), 'utf8')) as LocalExecutionRecord;
        if (record.target === this.target && alive(record.pid)) running.push(record);
      } catch {
        // A record being written or removed right now: not a run to wait for.
      }
    }
    return verdict(request, running);
  }
}
