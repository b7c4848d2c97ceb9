/**
 * What EventBridge sends a rule's target: the matched event, or the target's `Input` (a constant),
 * `InputPath` (one part of the event) or `InputTransformer` (values picked from the event by
 * InputPathsMap, put into InputTemplate).
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
 *
 * Substitution follows the template's quoting, as EventBridge does to keep its output valid JSON:
 * a placeholder outside a JSON string becomes the value as JSON (a string gets its quotes), one
 * inside a string becomes the value's text, JSON-escaped. A text template, which CDK's
 * RuleTargetInput.fromText and fromMultilineText write as one JSON string literal per line, is
 * delivered as substituted, quotes included (an e-mail subscriber of a topic sees them). A JSON
 * object template is delivered minified. A path that is not in the event gives no text at all
 * ("that variable isn't created and won't appear in the output"); where that leaves a JSON
 * object template invalid, the text is delivered unparsed (the docs say no more).
 */

type Json = unknown;

export interface TargetInputSpec {
  Input?: string;
  InputPath?: string;
  InputTransformer?: { InputPathsMap?: Record<string, string>; InputTemplate: string };
}

/** The matched event and the rule, as the predefined variables name them. */
export interface DeliveryContext {
  event: Record<string, Json>;
  ruleArn: string;
  ruleName: string;
  ingestedAt: string;
}

export type TargetInput = (delivery: DeliveryContext) => string;

export class UnsupportedTargetInputError extends Error {
  override name = 'UnsupportedTargetInputError';
}

/** EventBridge's JSONPath subset: `$`, dot-separated names, array indices. */
function compilePath(path: string, where: string): (event: Json) => Json {
  const m = /^\$((?:\.[A-Za-z0-9_\-/]+(?:\[\d+\])*)*)$/.exec(path);
  if (!m) throw new UnsupportedTargetInputError(`${where}: the path ${path} is not one a local run reads (dot names and array indices; no wildcards or filters)`);
  const steps = [...m[1]!.matchAll(/\.([A-Za-z0-9_\-/]+)|\[(\d+)\]/g)].map((s) => (s[1] !== undefined ? s[1] : Number(s[2])));
  return (event) => {
    let value: Json = event;
    for (const step of steps) {
      if (typeof step === 'number' ? !Array.isArray(value) : typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
      value = (value as Record<string | number, Json>)[step];
    }
    return value;
  };
}

const PREDEFINED: Record<string, (d: DeliveryContext) => Json> = {
  'aws.events.rule-arn': (d) => d.ruleArn,
  'aws.events.rule-name': (d) => d.ruleName,
  'aws.events.event.ingestion-time': (d) => d.ingestedAt,
  // The event without its detail, as the current docs describe this variable.
  'aws.events.event': (d) => Object.fromEntries(Object.entries(d.event).filter(([k]) => k !== 'detail')),
  'aws.events.event.json': (d) => d.event,
};

const PLACEHOLDER = /<([A-Za-z0-9_.\-]+)>/y;

export function compileTargetInput(spec: TargetInputSpec, where: string): TargetInput {
  const given = (['Input', 'InputPath', 'InputTransformer'] as const).filter((k) => spec[k] !== undefined);
  if (given.length > 1) throw new UnsupportedTargetInputError(`${where}: only one of ${given.join(', ')} may be given`);
  if (spec.Input !== undefined) {
    const input = spec.Input;
    return () => input;
  }
  if (spec.InputPath !== undefined) {
    const read = compilePath(spec.InputPath, where);
    // A missing part gives no message at all; SNS then refuses the publish as empty.
    return (d) => JSON.stringify(read(d.event)) ?? '';
  }
  if (spec.InputTransformer === undefined) return (d) => JSON.stringify(d.event);
  const { InputPathsMap: paths = {}, InputTemplate: template } = spec.InputTransformer;
  const readers = new Map<string, (d: DeliveryContext) => Json>(Object.entries(PREDEFINED));
  for (const [name, path] of Object.entries(paths)) {
    if (PREDEFINED[name]) throw new UnsupportedTargetInputError(`${where}: ${name} is a predefined variable and cannot be redefined`);
    const read = compilePath(path, `${where} (${name})`);
    readers.set(name, (d) => read(d.event));
  }
  const parts = parseTemplate(template, readers, where);
  const isObject = template.trim().startsWith('{');
  return (d) => {
    const text = parts.map((p) => (typeof p === 'string' ? p : render(p.read(d), p.quoted))).join('');
    if (!isObject) return text;
    try {
      return JSON.stringify(JSON.parse(text));
    } catch {
      return text;
    }
  };
}

type Part = string | { read: (d: DeliveryContext) => Json; quoted: boolean };

/** The template as literal text and placeholders, each knowing whether it stands inside a JSON string. */
function parseTemplate(template: string, readers: Map<string, (d: DeliveryContext) => Json>, where: string): Part[] {
  const parts: Part[] = [];
  let literal = '';
  let inString = false;
  for (let i = 0; i < template.length; ) {
    const c = template[i]!;
    if (c === '<') {
      PLACEHOLDER.lastIndex = i;
      const m = PLACEHOLDER.exec(template);
      if (m) {
        const read = readers.get(m[1]!);
        // EventBridge refuses such a target when it is created: the template names a variable it does not define.
        if (!read) throw new UnsupportedTargetInputError(`${where}: the template uses <${m[1]}>, which InputPathsMap does not define`);
        if (literal) parts.push(literal);
        literal = '';
        parts.push({ read, quoted: inString });
        i += m[0].length;
        continue;
      }
    }
    if (inString && c === '\\') {
      literal += template.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (c === '"') inString = !inString;
    literal += c;
    i += 1;
  }
  if (literal) parts.push(literal);
  return parts;
}

function render(value: Json, quoted: boolean): string {
  if (value === undefined) return '';
  if (!quoted) return JSON.stringify(value);
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return JSON.stringify(text).slice(1, -1);
}
