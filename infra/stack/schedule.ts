/**
 * The weekly run: an EventBridge Scheduler schedule that starts the state machine with a fixed
 * execution input. Off unless `scheduleEnabled` is set, so that an operator turns real changes on
 * knowingly (after a manual dry run).
 */
import { Duration, TimeZone } from 'aws-cdk-lib';
import { Schedule, ScheduleExpression, ScheduleTargetInput, TimeWindow } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export const DEFAULT_SCHEDULE_EXPRESSION = 'cron(0 3 ? * SUN *)';
export const DEFAULT_SCHEDULE_TIMEZONE = 'UTC';

export interface OptimizerScheduleProps {
  stateMachine: IStateMachine;
  /** A Scheduler expression: cron(...), rate(...) or at(...). */
  expression: string;
  /** IANA time zone the cron expression is read in. */
  timezone: string;
  /** The execution input of every scheduled run. */
  input: Record<string, unknown>;
  /** Checks the input at synth as the state machine will (throws naming the field). */
  check: (input: Record<string, unknown>) => void;
  /** What it starts, for its description: the optimizer (one org's run) or the fleet. */
  starts: 'optimizer' | 'fleet';
  enabled: boolean;
}

export const SCHEDULE_TARGETS = ['optimizer', 'fleet'] as const;

export class OptimizerSchedule extends Construct {
  readonly schedule: Schedule;

  constructor(scope: Construct, id: string, props: OptimizerScheduleProps) {
    super(scope, id);
    if (!/^(cron|rate|at)\(.+\)$/.test(props.expression.trim())) {
      throw new Error(`scheduleExpression: expected cron(...), rate(...) or at(...), got ${JSON.stringify(props.expression)}`);
    }
    try {
      new Intl.DateTimeFormat('en', { timeZone: props.timezone });
    } catch {
      throw new Error(`scheduleTimezone: ${JSON.stringify(props.timezone)} is not an IANA time zone (e.g. UTC, Europe/Dublin)`);
    }
    // A typo here would otherwise fail every scheduled run with Input.Invalid, a week later.
    try {
      props.check(props.input);
    } catch (err) {
      throw new Error(`scheduleInput: ${(err as Error).message}`);
    }

    // The target creates the scheduler's own role, trusted by scheduler.amazonaws.com for this
    // account's default schedule group only, with states:StartExecution on this state machine only.
    const target = new StepFunctionsStartExecution(props.stateMachine, {
      input: ScheduleTargetInput.fromObject(props.input),
      // StartExecution fails only on throttling or a service error: retry for an hour, not the
      // default 24 hours, so that a late start never optimizes indexes in business hours.
      // (Next week's run comes regardless; a dropped start shows in the Scheduler's metrics.)
      maxEventAge: Duration.hours(1),
      retryAttempts: 10,
    });

    this.schedule = new Schedule(this, 'Schedule', {
      schedule: ScheduleExpression.expression(props.expression.trim(), TimeZone.of(props.timezone)),
      target,
      enabled: props.enabled,
      // Start at the stated time: runs are planned around business hours.
      timeWindow: TimeWindow.off(),
      description:
        props.starts === 'fleet'
          ? 'Starts a Genesys index optimizer fleet run (every org, wave by wave) with the configured input'
          : 'Starts the Genesys index optimizer with the configured execution input',
    });
  }
}
