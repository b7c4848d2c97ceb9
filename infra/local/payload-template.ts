/**
 * Step Functions' payload templates (ItemSelector, an ItemReader's or ResultWriter's Parameters):
 * a field ending in `.$` takes the value at its path, `$.…` in the state's input and `$$.…` in
 * the context object. The paths the definition uses are plain references (dotted names and
 * [n] indexes); anything else is refused rather than guessed at.
 */
type Json = unknown;

function valueAt(root: Json, path: string, where: string): Json {
  const steps = path.replace(/^\$/, '').match(/\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\]/g) ?? [];
  if (steps.join('') !== path.replace(/^\$/, '')) throw new Error(`${where}: path ${path} is not a plain reference, which a local run cannot evaluate`);
  let v: Json = root;
  for (const step of steps) {
    const key = step.startsWith('[') ? Number(step.slice(1, -1)) : step.slice(1);
    if (v === null || typeof v !== 'object' || !(key in (v as object))) {
      const e = new Error(`The JSONPath '${path}' specified for the field '${where}' could not be found in the input`);
      e.name = 'States.Runtime';
      throw e;
    }
    v = (v as Record<string | number, Json>)[key];
  }
  return v;
}

export function applyTemplate(template: Json, input: Json, context: Json, where = 'Parameters'): Json {
  if (Array.isArray(template)) return template.map((t) => applyTemplate(t, input, context, where));
  if (template === null || typeof template !== 'object') return template;
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(template as Record<string, Json>)) {
    if (key.endsWith('.$') && typeof value === 'string') {
      const name = key.slice(0, -2);
      if (value.startsWith('$$')) out[name] = valueAt(context, value.slice(1), name);
      else if (value.startsWith('$')) out[name] = valueAt(input, value, name);
      else throw new Error(`${where}.${key}: ${value} is an intrinsic function, which a local run's templates do not evaluate`);
    } else {
      out[key] = applyTemplate(value, input, context, where);
    }
  }
  return out;
}
