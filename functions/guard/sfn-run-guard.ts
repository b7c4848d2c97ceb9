import type { SFNClient } from '@aws-sdk/client-sfn';
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
        const described = await sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
        running.push({ executionId: e.executionArn, startTime: e.startDate.toISOString(), dryRun: isDryRun(described.input) });
      }
      nextToken = page.nextToken;
    } while (nextToken);
    return verdict(request, running);
  }
}

function isDryRun(input: string | undefined): boolean {
  try {
    return (JSON.parse(input ?? '{}') as { dryRun?: unknown }).dryRun === true;
  } catch {
    return false;
  }
}
