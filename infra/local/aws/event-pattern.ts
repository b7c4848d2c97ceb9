/**
 * EventBridge event patterns, as far as a local run needs them: fields matched against arrays of
 * exact values, at any depth (`detail` included). A pattern using anything else (prefix,
 * anything-but, numeric, exists, wildcard, $or, …) is refused when the rule is read, rather than
 * matched some other way than EventBridge would.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
 */

type Json = unknown;
export type EventPattern = (event: Json) => boolean;

const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

export class UnsupportedPatternError extends Error {
  override name = 'UnsupportedPatternError';
}

/** Validates `pattern` and returns its matcher. */
export function compilePattern(pattern: Json, where: string): EventPattern {
  if (!isObject(pattern)) throw new UnsupportedPatternError(`${where}: an event pattern is a JSON object`);
  const check = (node: Record<string, Json>, path: string): void => {
    for (const [key, value] of Object.entries(node)) {
      const at = `${path}.${key}`;
      if (key.startsWith('$')) throw new UnsupportedPatternError(`${where}: ${at} is an operator (${key}), which a local run does not match; only exact values are`);
      if (isObject(value)) {
        check(value, at);
        continue;
      }
      if (!Array.isArray(value) || value.length === 0) throw new UnsupportedPatternError(`${where}: ${at} must be a non-empty array of values or an object`);
      for (const v of value) {
        if (typeof v === 'object' && v !== null) {
          throw new UnsupportedPatternError(`${where}: ${at} uses the content filter ${JSON.stringify(v)}, which a local run does not match; only exact values are`);
        }
      }
    }
  };
  check(pattern, '$');
  return (event) => matches(pattern, event);
}

/**
 * Every field of the pattern must be in the event: a leaf matches when the event's value (or, for
 * an array, any of its elements) equals one of the listed values, type included ("5" is not 5).
 */
function matches(pattern: Record<string, Json>, event: Json): boolean {
  if (!isObject(event)) return false;
  return Object.entries(pattern).every(([key, expected]) => {
    if (!(key in event)) return false;
    const actual = event[key];
    // EventBridge reads through arrays: a nested pattern matches an array when one of its objects does.
    if (isObject(expected)) return Array.isArray(actual) ? actual.some((a) => matches(expected, a)) : matches(expected, actual);
    const values = Array.isArray(actual) ? actual : [actual];
    return values.some((v) => (expected as Json[]).some((e) => e === v));
  });
}
