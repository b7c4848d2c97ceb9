import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { verdict, type GuardRequest, type GuardVerdict, type RunGuard, type RunningExecution } from './run-guard.ts';

/** In AWS: the RUNNING executions of this state machine, from Step Functions itself. */
export class StepFunctionsRunGuard implements RunGuard {
  private readonly stateMachineArn: string;
  private readonly sfn: SFNClient;

  constructor(stateMachineArn: string, sfn: SFNClient = new SFNClient({})) {
    this.stateMachineArn = stateMachineArn;
    this.sfn = sfn;
  }

  async check(request: GuardRequest): Promise<GuardVerdict> {
    const running: RunningExecution[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.sfn.send(
        new ListExecutionsCommand({ stateMachineArn: this.stateMachineArn, statusFilter: 'RUNNING', maxResults: 100, nextToken }),
      );
      for (const e of page.executions ?? []) {
        if (!e.executionArn || e.executionArn === request.executionId || !e.startDate) continue;
        // Only earlier runs can block this one, so only they need their input read.
        if (e.startDate.getTime() > Date.parse(request.startTime)) continue;
        running.push({ executionId: e.executionArn, startTime: e.startDate.toISOString(), dryRun: await this.isDryRun(e.executionArn) });
      }
      nextToken = page.nextToken;
    } while (nextToken);
    return verdict(request, running);
  }

  private async isDryRun(executionArn: string): Promise<boolean> {
    const described = await this.sfn.send(new DescribeExecutionCommand({ executionArn }));
    try {
      return (JSON.parse(described.input ?? '{}') as { dryRun?: unknown }).dryRun === true;
    } catch {
      return false;
    }
  }
}
