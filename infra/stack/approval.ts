/**
 * Approving a plan: a small state machine of its own, which the optimizer starts and waits for
 * (StartExecution .sync:2) when the input asks for approval. It invokes the approval function
 * with a task token (the callback pattern) and waits for the operator's decision, or for the
 * timeout the input gives:
 *
 *   RequestApproval (waits for the token) → Decided | (States.Timeout) → TimedOut
 *
 * It is separate for one reason: the task token is a parameter of RequestApproval, so it is in
 * that execution's history, and would be in the logs of any state machine that logs execution
 * data. The optimizer logs every state's input and output; this one logs its events without data,
 * so the token is written only to the run store (by the function) and never to a log.
 */
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { MAX_APPROVAL_TIMEOUT_HOURS } from '../../functions/domain/execution-input.ts';
import type { ApprovalDecision } from '../../functions/domain/approval.ts';
import type { ApprovalEvent } from '../../functions/handlers/approval.ts';

/** What the optimizer passes to an approval execution. */
export interface ApprovalInput {
  /** The optimizer's execution (its run store objects are keyed by it). */
  executionId: string;
  /** The run's org (null in a single-org deployment), for the function's log lines and audit event. */
  org: string | null;
  timeoutSeconds: number;
}

export const APPROVAL_STATE = { request: 'RequestApproval', timedOut: 'TimedOut' } as const;

export interface ApprovalMachineProps {
  approvalFunction: IFunction;
  stateMachineName: string;
  logGroup: ILogGroup;
}

export class ApprovalMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: ApprovalMachineProps) {
    super(scope, id);
    const input = (field: keyof ApprovalInput) => `$.${field}`;
    const payload: Record<Exclude<keyof ApprovalEvent, 'indexId'>, unknown> = {
      executionId: sfn.JsonPath.stringAt(input('executionId')),
      org: sfn.JsonPath.stringAt(input('org')),
      taskToken: sfn.JsonPath.taskToken,
      timeoutSeconds: sfn.JsonPath.numberAt(input('timeoutSeconds')),
    };
    const request = new LambdaInvoke(this, APPROVAL_STATE.request, {
      lambdaFunction: props.approvalFunction,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: sfn.TaskInput.fromObject(payload),
      // The decision sent with the token (SendTaskSuccess output) is this execution's output.
      taskTimeout: sfn.Timeout.at(input('timeoutSeconds')),
      comment: 'Keeps the token in the run store, tells the operator, waits for the decision',
    });
    const timedOut: Record<keyof ApprovalDecision, unknown> = {
      status: 'timedOut',
      by: null,
      at: sfn.JsonPath.stringAt('$$.State.EnteredTime'),
      reason: 'no decision before the approval timeout',
    };
    request.addCatch(new sfn.Pass(this, APPROVAL_STATE.timedOut, { parameters: timedOut }), { errors: [sfn.Errors.TIMEOUT] });

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(request),
      // The longest wait the input allows, and an hour for the function and the start.
      timeout: Duration.hours(MAX_APPROVAL_TIMEOUT_HOURS + 1),
      tracingEnabled: true,
      // Events only: RequestApproval's parameters hold the task token.
      logs: { destination: props.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      comment: 'Waits for an operator to approve or reject an optimizer plan',
    });
  }
}
