// The README's security table says what each function may do in the run bucket; the grants come
// from the run store's layout. This keeps the two from drifting apart: every key the layout lets a
// function touch is in its row, and its row names no run object the layout does not let it touch.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RUN_STORE_ACCESS, RUNS_ROOT, type StoreUser } from '../functions/store/run-layout.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

function row(fn: StoreUser): string {
  const line = readme.split('\n').find((l) => l.startsWith(`| ${fn} |`));
  expect(line, `the security table's row for ${fn}`).toBeDefined();
  return line!;
}

describe("README's security table", () => {
  for (const fn of Object.keys(RUN_STORE_ACCESS) as StoreUser[]) {
    it(`${fn}: the run objects it may touch are those of the layout`, () => {
      const access = RUN_STORE_ACCESS[fn];
      const text = row(fn);
      const named = new Set([...text.matchAll(/`(runs\/\*\/[^`]+)`/g)].map((m) => m[1]!));
      const granted = new Set([...access.get, ...access.put, ...access.list].map((k) => `${RUNS_ROOT}*/${k}`));
      expect([...named].sort()).toEqual([...granted].sort());
      if (access.list.length) expect(text).toMatch(/list under/);
      if (access.get.length) expect(text).toMatch(/\bget\b/);
      if (access.put.length) expect(text).toMatch(/\bput\b/);
    });
  }
});
