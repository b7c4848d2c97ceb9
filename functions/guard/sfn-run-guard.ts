import type { SFNClient } from '@aws-sdk/client-sfn';
import { orgOfExecutionName } from '../domain/orgs.ts';
import { verdict, type GuardRequest, type GuardVerdict, type RunGuard, type RunningExecution } from './run-guard.ts';
import { lazily } from '../shared/lazily.ts';

// On the first check (a dry run never makes one).
const sfnSdk = lazily(() => import('@aws-sdk/client-sfn'));

/** In AWS: the RUNNING executions of this state machine, from Step Functions itself. */
export class StepFunctionsRunGuard implements RunGuard {
  private readonly stateMachineArn: string;
  /** Made on the first check unless given. */
  private sfn: SFNClient | undefined;

  constructor(stateMachineArn: string, sfn?: SFNClient) {
    this.stateMachineArn = stateMachineArn;
    this.sfn = sfn;
  }

  async check(request: GuardRequest): Promise<GuardVerdict> {
    const { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } = await sfnSdk();
    const sfn = (this.sfn ??= new SFNClient({}));
    const running: RunningExecution[] = [];
    let nextToken: string | undefined;
    do {
      const page = await sfn.send(
        new ListExecutionsCommand({ stateMachineArn: this.stateMachineArn, statusFilter: 'RUNNING', maxResults: 100, nextToken }),
      );
      for (const e of page.executions ?? []) {
        if (!e.executionArn || e.executionArn === request.executionId || !e.startDate) continue;
        // Only earlier runs can block this one, so only they need their input read.
        if (e.startDate.getTime() > Date.parse(request.startTime)) continue;
        // Nor another org's fleet run, which its name tells: a wave of k org runs starting together
        // would otherwise make k(k-1)/2 DescribeExecution calls at once, past that API's quota.
        const named = orgOfExecutionName(e.name);
        if (request.org !== null && named !== null && named !== request.org) continue;
        const described = await sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
        // It may have ended between the listing and now: an ended run blocks nothing.
        if (described.status !== undefined && described.status !== 'RUNNING') continue;
        running.push({ executionId: e.executionArn, startTime: e.startDate.toISOString(), ...runOf(described.input) });
      }
      nextToken = page.nextToken;
    } while (nextToken);
    return verdict(request, running);
  }
}

/** What the guard needs of another run's input: whether it is a dry run, and its org. */
function runOf(input: string | undefined): { dryRun: boolean; org: string | null } {
  try {
    const o = JSON.parse(input ?? '{}') as { dryRun?: unknown; org?: unknown };
    return { dryRun: o.dryRun === true, org: typeof o.org === 'string' ? o.org : null };
  } catch {
    return { dryRun: false, org: null };
  }
}
