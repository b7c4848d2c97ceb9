/**
 * The deployment's EventBridge rules, read once per deployment: each enabled rule's bus, pattern
 * and SNS targets, and the event as EventBridge gives it to them. Anything a local run would not
 * deliver as EventBridge does (another kind of target, a target that delivers through a role, a
 * pattern operator or input it does not implement) is refused when the rules are read.
 */
import { compilePattern, type EventPattern } from './event-pattern.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, type LocalResources } from './resources.ts';
import { compileTargetInput, type TargetInput, type TargetInputSpec } from './target-input.ts';
import type { Topic } from './sns-topics.ts';

export interface RuleTarget {
  id: string;
  topic: Topic;
  input: TargetInput;
}

export interface EventRule {
  name: string;
  arn: string;
  bus: string;
  matches: EventPattern;
  targets: RuleTarget[];
}

/** A PutEvents entry, as the SDK sends it. */
export interface PutEventsEntry {
  EventBusName?: string;
  Source?: string;
  DetailType?: string;
  Detail?: string;
  Resources?: string[];
  /** Epoch seconds (the JSON protocol's timestamps). */
  Time?: number;
}

export function rulesOf(resources: LocalResources, topics: Map<string, Topic>): EventRule[] {
  const rules: EventRule[] = [];
  for (const [id, r] of resources.ofType('AWS::Events::Rule')) {
    const props = r.Properties ?? {};
    // A scheduled rule has no pattern; it is not triggered by PutEvents.
    if (props.EventPattern === undefined || (props.State !== undefined && !String(props.State).startsWith('ENABLED'))) continue;
    const { name, arn } = resources.byId.get(id)!;
    const where = `rule ${id}`;
    const targets = (props.Targets ?? []).map((t: Record<string, unknown>): RuleTarget => {
      const at = `${where}, target ${String(t['Id'])}`;
      const targetArn = String(resources.resolve(t['Arn']));
      if (!targetArn.startsWith('arn:aws:sns:')) throw new Error(`${at}: ${targetArn} is not an SNS topic; a local run delivers only to topics`);
      if (t['RoleArn'] !== undefined) throw new Error(`${at}: delivering through a role (RoleArn) is not one a local run emulates; it delivers as events.amazonaws.com`);
      const topic = topics.get(targetArn);
      if (!topic) throw new Error(`${at}: topic ${targetArn} is not in the deployment`);
      return { id: String(t['Id']), topic, input: compileTargetInput(resources.resolve(t) as TargetInputSpec, at) };
    });
    rules.push({ name, arn, bus: resources.busName(props.EventBusName), matches: compilePattern(resources.resolve(props.EventPattern), where), targets });
  }
  return rules;
}

/** EventBridge's times have whole seconds: 2015-11-11T21:29:54Z. */
const eventTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The event rules and targets see (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html),
 * or null when the entry's Detail is not a JSON object (EventBridge's MalformedDetail).
 */
export function eventOf(entry: PutEventsEntry, id: string, receivedAt: number): Record<string, unknown> | null {
  let detail: unknown = {};
  if (entry.Detail !== undefined) {
    try {
      detail = JSON.parse(entry.Detail);
    } catch {
      return null;
    }
  }
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) return null;
  return {
    version: '0',
    id,
    'detail-type': entry.DetailType,
    source: entry.Source,
    account: LOCAL_ACCOUNT,
    time: eventTime(entry.Time !== undefined ? entry.Time * 1000 : receivedAt),
    region: LOCAL_REGION,
    resources: entry.Resources ?? [],
    detail,
  };
}
