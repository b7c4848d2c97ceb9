/**
 * The synthesized definition in the form the local engine (aws-local-stepfunctions) runs the
 * way Step Functions does: Choice type tests rewritten to what the ASL specification says they
 * mean, and each Distributed Map replaced by a Task whose local handler runs it as AWS does
 * (infra/local/distributed-map.ts), since the engine would run it inline, without its ItemReader,
 * ResultWriter or tolerated-failure threshold.
 */
import { LOCAL_ACCOUNT, LOCAL_REGION } from './aws/resources.ts';

type States = Record<string, Record<string, unknown>>;

/** Choice-rule type tests: aws-local-stepfunctions 3.0.0 evaluates `"IsPresent": false` (and the other `Is…: false`) as always false. */
const TYPE_TESTS = ['IsPresent', 'IsNull', 'IsNumeric', 'IsString', 'IsBoolean', 'IsTimestamp'] as const;

/**
 * The definition as Step Functions means it, in a form the local engine evaluates the same way:
 * each `{"Variable": v, "IsPresent": false}` becomes `{"Not": {"Variable": v, "IsPresent": true}}`
 * (likewise for the other type tests), which is what the ASL specification says it means. Without
 * this, `Condition.isNotPresent` is never true locally: an empty plan ran both latency probes and
 * an empty Map locally where AWS goes straight to the report. The input is not changed.
 */
export function forLocalEngine(definition: Record<string, unknown>): Record<string, unknown> {
  const rule = (r: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = { ...r };
    if (Array.isArray(r['And'])) out['And'] = (r['And'] as Array<Record<string, unknown>>).map(rule);
    if (Array.isArray(r['Or'])) out['Or'] = (r['Or'] as Array<Record<string, unknown>>).map(rule);
    if (r['Not'] && typeof r['Not'] === 'object') out['Not'] = rule(r['Not'] as Record<string, unknown>);
    const test = TYPE_TESTS.find((t) => r[t] === false);
    if (test) {
      const { Next, ...condition } = out;
      return { Not: { ...condition, [test]: true }, ...(Next === undefined ? {} : { Next }) };
    }
    return out;
  };
  const states = (all: States): States =>
    Object.fromEntries(
      Object.entries(all).map(([name, state]) => {
        const s: Record<string, unknown> = { ...state };
        if (Array.isArray(state['Choices'])) s['Choices'] = (state['Choices'] as Array<Record<string, unknown>>).map(rule);
        for (const key of ['ItemProcessor', 'Iterator'] as const) {
          const nested = state[key] as { States?: Record<string, Record<string, unknown>> } | undefined;
          if (nested?.States) s[key] = { ...nested, States: states(nested.States) };
        }
        if (Array.isArray(state['Branches'])) {
          s['Branches'] = (state['Branches'] as Array<{ States: Record<string, Record<string, unknown>> }>).map((b) => ({ ...b, States: states(b.States) }));
        }
        return [name, s];
      }),
    );
  return { ...definition, States: states(definition['States'] as Record<string, Record<string, unknown>>) };
}

/** The ARN of the Task that stands in for a Distributed Map (a local name, never deployed). */
export const DISTRIBUTED_MAP_RESOURCE = `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:local-distributed-map`;

/** The longest a Node.js timer waits (2^31 − 1 ms); longer ones fire at once. */
const MAX_TIMER_SECONDS = 2_147_483;

/** Fields a Map state and a Task state share, carried over to the stand-in Task. */
const CARRIED = ['Comment', 'InputPath', 'OutputPath', 'ResultPath', 'ResultSelector', 'Retry', 'Catch', 'Next', 'End'] as const;

/** Where a rewritten Task carries its TimeoutSecondsPath's value (see withAwsTaskTimeouts); the runner's handlers ignore it. */
export const LOCAL_TIMEOUT_FIELD = 'localTimeoutSeconds';

/**
 * Task timeouts as Step Functions applies them. It gives a Task no timeout of its own (only the
 * execution's bounds it); the local engine gives one without TimeoutSeconds(Path) 60 s: such Tasks
 * (a nested execution waiting for an operator) get the execution's bound instead. And Step Functions
 * reads TimeoutSecondsPath from the state's input, where the engine reads it from the effective
 * input (after Parameters): the value is carried through Parameters to where the engine looks.
 * An execution bound longer than a JavaScript timer holds (the Fleet machine's 30 days) becomes the
 * longest it holds, about 24.8 days: otherwise the engine's timer fires at once.
 */
export function withAwsTaskTimeouts(definition: Record<string, unknown>): Record<string, unknown> {
  const bound = Math.min(typeof definition['TimeoutSeconds'] === 'number' ? (definition['TimeoutSeconds'] as number) : MAX_TIMER_SECONDS, MAX_TIMER_SECONDS);
  const states = (all: States): States =>
    Object.fromEntries(
      Object.entries(all).map(([name, state]) => {
        const s: Record<string, unknown> = { ...state };
        if (state['Type'] === 'Task' && state['TimeoutSeconds'] === undefined && state['TimeoutSecondsPath'] === undefined) s['TimeoutSeconds'] = bound;
        if (state['Type'] === 'Task' && typeof state['TimeoutSecondsPath'] === 'string' && state['Parameters'] !== undefined) {
          s['Parameters'] = { ...(state['Parameters'] as object), [`${LOCAL_TIMEOUT_FIELD}.$`]: state['TimeoutSecondsPath'] };
          s['TimeoutSecondsPath'] = `$.${LOCAL_TIMEOUT_FIELD}`;
        }
        for (const key of ['ItemProcessor', 'Iterator'] as const) {
          const nested = state[key] as { States?: States } | undefined;
          if (nested?.States) s[key] = { ...nested, States: states(nested.States) };
        }
        if (Array.isArray(state['Branches'])) s['Branches'] = (state['Branches'] as Array<{ States: States }>).map((b) => ({ ...b, States: states(b.States) }));
        return [name, s];
      }),
    );
  const out: Record<string, unknown> = { ...definition, States: states(definition['States'] as States) };
  // The execution's own bound, where a timer cannot hold it (the Fleet machine's 30 days): the
  // engine's timer would fire at once. The longest a timer holds (24.8 days) stands in for it.
  if (typeof definition['TimeoutSeconds'] === 'number' && (definition['TimeoutSeconds'] as number) > MAX_TIMER_SECONDS) out['TimeoutSeconds'] = MAX_TIMER_SECONDS;
  return out;
}

export function isDistributedMap(state: Record<string, unknown>): boolean {
  const processor = state['ItemProcessor'] as { ProcessorConfig?: { Mode?: string } } | undefined;
  return state['Type'] === 'Map' && processor?.ProcessorConfig?.Mode === 'DISTRIBUTED';
}

/**
 * Replaces each top-level Distributed Map with a stand-in Task; returns the Map states by name
 * (their child workflows are run by the emulation, as separate executions).
 */
export function standInForDistributedMaps(definition: Record<string, unknown>): { definition: Record<string, unknown>; maps: Map<string, Record<string, unknown>> } {
  const maps = new Map<string, Record<string, unknown>>();
  const states = definition['States'] as States;
  const out: States = {};
  for (const [name, state] of Object.entries(states)) {
    if (!isDistributedMap(state)) {
      out[name] = state;
      continue;
    }
    maps.set(name, state);
    // A Map has no timeout of its own, but the engine gives every Task 60 s unless told: the
    // execution's own bound instead (a JavaScript timer cannot hold ASL's default of 99999999 s).
    const bound = typeof definition['TimeoutSeconds'] === 'number' ? (definition['TimeoutSeconds'] as number) : MAX_TIMER_SECONDS;
    const task: Record<string, unknown> = { Type: 'Task', Resource: DISTRIBUTED_MAP_RESOURCE, TimeoutSeconds: Math.min(bound, MAX_TIMER_SECONDS) };
    for (const key of CARRIED) if (state[key] !== undefined) task[key] = state[key];
    out[name] = task;
  }
  return { definition: { ...definition, States: out }, maps };
}
