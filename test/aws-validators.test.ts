/**
 * AWS's own validators over what the stack deploys:
 *  - the Amazon States Language service (the validator behind the AWS Toolkit's ASL editor) on the
 *    state machine definition exactly as synthesized (Fn::Join resolved to function ARNs), and on a
 *    fleet's (the `orgs` setting) Fleet state machine definition;
 *  - cfn-lint on the synthesized CloudFormation template, with and without orgs: no finding of level Error.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// The package is CommonJS; only its own exports are visible as named ESM imports (not the ones it
// re-exports from vscode-json-languageservice's UMD build), so take nothing else from it at runtime.
import { getLanguageService, type ASTNode, type Diagnostic } from 'amazon-states-language-service';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { LOCAL_ACCOUNT, LOCAL_REGION, synthesizeDefinition, type SynthesizedDefinition } from '../infra/local/definition.ts';
import { LocalResources } from '../infra/local/aws/resources.ts';
import { OptimizerStack } from '../infra/stack/optimizer-stack.ts';
import { parseOrgSettings } from '../functions/domain/fleet.ts';

let synthesized: SynthesizedDefinition;
/** A fleet's stack: its template, and the Fleet definition resolved as the optimizer's is. */
let fleet: { template: Template; definition: Record<string, unknown> };
beforeAll(() => {
  synthesized = synthesizeDefinition();
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const orgs = parseOrgSettings([{ name: 'canary', wave: 1 }, { name: 'prod-eu', wave: 2, region: 'mypurecloud.ie', apiBudgetPerMinute: 200 }, { name: 'prod-us', wave: 2 }], 'orgs');
  const stack = new OptimizerStack(app, 'FleetLint', { env: { account: LOCAL_ACCOUNT, region: LOCAL_REGION }, orgs, scheduleTarget: 'fleet', alarmEmail: 'ops@example.com' });
  const template = Template.fromStack(stack);
  const resources = new LocalResources(template.toJSON(), 'FleetLint');
  const id = stack.getLogicalId(stack.fleet!.machine.stateMachine.node.defaultChild as never);
  fleet = { template, definition: JSON.parse(resources.resolve(resources.properties(id).DefinitionString) as string) as Record<string, unknown> };
}, 60_000);

// ─── Amazon States Language service ──────────────────────────────────────────────────────────────

interface Finding {
  message: string;
  /** 1-based line:column in the pretty-printed definition. */
  at: string;
  /** Property path from the root, e.g. States.RunIndexes.ItemProcessor.States.Optimize.Retry[1]. */
  path: string;
  /** The chain of state names the finding sits in (outermost first); empty at the top level. */
  states: string[];
}

const aslService = getLanguageService({});

/** Deepest AST node whose span contains offset, with the property path that leads to it. */
function locate(root: ASTNode | undefined, offset: number): { path: string; states: string[] } {
  const segments: Array<string | number> = [];
  let node = root;
  descend: while (node) {
    if (node.type === 'object') {
      for (const property of node.properties) {
        if (offset >= property.offset && offset <= property.offset + property.length) {
          segments.push(property.keyNode.value);
          node = property.valueNode;
          continue descend;
        }
      }
    } else if (node.type === 'array') {
      for (const [index, item] of node.items.entries()) {
        if (offset >= item.offset && offset <= item.offset + item.length) {
          segments.push(index);
          node = item;
          continue descend;
        }
      }
    }
    break;
  }
  const states: string[] = [];
  segments.forEach((segment, i) => {
    const next = segments[i + 1];
    if (segment === 'States' && typeof next === 'string') states.push(next);
  });
  const path = segments.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
  return { path: path || '(root)', states };
}

/** What AWS's ASL validator says about a definition: every diagnostic, located. */
async function validateAsl(definition: unknown): Promise<Finding[]> {
  // Pretty-printed so that the reported line numbers point at something readable.
  const text = JSON.stringify(definition, null, 2);
  const document = TextDocument.create('file:///definition.asl.json', 'asl', 1, text);
  const jsonDocument = aslService.parseJSONDocument(document);
  const diagnostics: Diagnostic[] = await aslService.doValidation(document, jsonDocument);
  // JSONDocument is opaque in the typings; `root` is what the ASL service itself walks.
  const root = (jsonDocument as { root?: ASTNode }).root;
  return diagnostics.map((d) => ({
    message: typeof d.message === 'string' ? d.message : d.message.value,
    at: `${d.range.start.line + 1}:${d.range.start.character + 1}-${d.range.end.line + 1}:${d.range.end.character + 1}`,
    ...locate(root, document.offsetAt(d.range.start)),
  }));
}

const showAsl = (findings: Finding[]) =>
  findings.map((f) => `  ${f.at}  state ${f.states.join(' > ') || '(top level)'}  at ${f.path}\n    ${f.message}`).join('\n');

describe('AWS States Language service (the AWS Toolkit validator)', () => {
  it.each([
    ['optimizer', () => synthesized.definition],
    ['Fleet (a deployment with orgs)', () => fleet.definition],
  ])('finds nothing wrong with the synthesized %s definition', async (_name, definition) => {
    const d = definition();
    const findings = await validateAsl(d);
    if (findings.length > 0) console.error(`ASL service diagnostics on the synthesized definition:\n${showAsl(findings)}`);
    expect(findings, showAsl(findings)).toEqual([]);
    // Resolved: no intrinsic left in the text the validator read.
    expect(JSON.stringify(d)).not.toMatch(/Fn::|"Ref"/);
  });

  it("the Fleet definition is the one with StartExecution.sync:2 of the optimizer in its Map, so the validator read that integration's fields", () => {
    const states = fleet.definition['States'] as Record<string, { ItemProcessor?: { States: Record<string, Record<string, unknown>> } }>;
    const start = states['RunWave']!.ItemProcessor!.States['StartOrgRun']!;
    expect(start['Resource']).toBe('arn:aws:states:::states:startExecution.sync:2');
    expect((start['Parameters'] as Record<string, unknown>)['StateMachineArn']).toBe(`arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:FleetLint-Optimizer`);
  });

  // The validator is live: each deliberately broken copy is flagged, at the state that was broken.
  const startState = (d: Record<string, unknown>) => {
    const name = d['StartAt'] as string;
    return { name, state: (d['States'] as Record<string, Record<string, unknown>>)[name]! };
  };
  it.each([
    ['a dangling Next', (s: Record<string, unknown>) => { s['Next'] = 'NoSuchState'; delete s['End']; }, /existing state/],
    ['an unknown field', (s: Record<string, unknown>) => { s['NotAnAslField'] = true; }, /not supported/],
    ['an unknown state Type', (s: Record<string, unknown>) => { s['Type'] = 'Teleport'; }, /Valid values/],
  ])('flags a copy with %s in the start state', async (_what, breakIt, expected) => {
    const broken = structuredClone(synthesized.definition);
    const { name, state } = startState(broken);
    breakIt(state);
    const findings = await validateAsl(broken);
    console.info(`ASL service on the broken copy:\n${showAsl(findings)}`);
    expect(findings.length).toBeGreaterThan(0);
    expect(findings.some((f) => f.states[0] === name && expected.test(f.message)), showAsl(findings)).toBe(true);
  });
});

// ─── cfn-lint ─────────────────────────────────────────────────────────────────────────────────────

interface CfnLintFinding {
  Level: 'Error' | 'Warning' | 'Informational' | string;
  Message: string;
  Rule: { Id: string };
  Location: { Path?: Array<string | number>; Start?: { LineNumber: number } };
}

const probe = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
const cfnLintVersion = probe.status === 0 ? probe.stdout.trim() : undefined;
const cfnLintMissing = probe.error
  ? `cannot run cfn-lint: ${probe.error.message}`
  : `cfn-lint --version exited ${probe.status}: ${(probe.stderr || probe.stdout).trim()}`;

function runCfnLint(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile('cfn-lint', [file, '--format', 'json', '--regions', LOCAL_REGION], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(error); // no exit status: it could not run at all
      else resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}

interface CfnLintReport {
  code: number;
  findings: CfnLintFinding[];
}

/** Lints a template; fails if cfn-lint itself failed (exit bit 1) or its output is not the JSON report. */
async function cfnLint(template: unknown, dir: string, name: string): Promise<CfnLintReport> {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(template));
  const { code, stdout, stderr } = await runCfnLint(file);
  // Exit status is a bit set: 1 = cfn-lint itself failed, 2 = errors, 4 = warnings, 8 = informational.
  if (code & 1) throw new Error(`cfn-lint failed to run on ${name} (exit ${code}):\n${stderr}${stdout}`);
  return { code, findings: JSON.parse(stdout || '[]') as CfnLintFinding[] };
}

const showCfn = (list: CfnLintFinding[]) =>
  list.map((f) => `  ${f.Level} ${f.Rule.Id} ${(f.Location.Path ?? []).join('/')}\n    ${f.Message}`).join('\n');

describe('cfn-lint on the synthesized template', () => {
  if (!cfnLintVersion) console.warn(`SKIPPED: cfn-lint was NOT run, so the template was not checked: ${cfnLintMissing}. Install it with \`pip install cfn-lint\`.`);
  const whenAvailable = it.skipIf(!cfnLintVersion);
  const suffix = cfnLintVersion ? `(${cfnLintVersion})` : '(SKIPPED: cfn-lint is not on PATH)';

  let workDir: string | undefined;
  let ours: Promise<CfnLintReport>;
  let withOrgs: Promise<CfnLintReport>;
  let broken: Promise<CfnLintReport>;
  beforeAll(() => {
    if (!cfnLintVersion) return;
    workDir = mkdtempSync(join(tmpdir(), 'cfn-lint-'));
    const template = synthesized.template.toJSON() as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    // A copy with a property CloudFormation does not have on the state machine: cfn-lint must call it an Error.
    const copy = structuredClone(template);
    const machine = Object.values(copy.Resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine');
    if (!machine) throw new Error('the template has no state machine');
    machine.Properties['NotACloudFormationProperty'] = true;
    // All runs at once: each takes a few seconds, mostly cfn-lint starting up.
    ours = cfnLint(template, workDir, 'template.json');
    withOrgs = cfnLint(fleet.template.toJSON(), workDir, 'fleet-template.json');
    broken = cfnLint(copy, workDir, 'broken.json');
    ours.catch(() => {});
    withOrgs.catch(() => {});
    broken.catch(() => {});
  });
  afterAll(() => {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  whenAvailable.each([
    ['a single-org deployment', () => ours],
    ['a fleet (orgs: their secrets, alarms, dashboard rows, the Fleet state machine)', () => withOrgs],
  ])(`finds no Error in the template of %s ${suffix}`, async (_what, report) => {
    const { code, findings } = await report();
    const errors = findings.filter((f) => f.Level === 'Error');
    const others = findings.filter((f) => f.Level !== 'Error');
    if (others.length > 0) console.info(`cfn-lint warnings/informational (allowed):\n${showCfn(others)}`);
    if (errors.length > 0) console.error(`cfn-lint errors:\n${showCfn(errors)}`);
    expect(errors, showCfn(errors)).toEqual([]);
    expect(code & 2, `cfn-lint's exit status ${code} says there are errors`).toBe(0);
  }, 60_000);

  whenAvailable(`does report an Error in a deliberately broken copy ${suffix}`, async () => {
    const { code, findings } = await broken;
    console.info(`cfn-lint on the broken copy:\n${showCfn(findings.filter((f) => f.Level === 'Error'))}`);
    expect(code & 2).toBe(2);
    expect(findings.some((f) => f.Level === 'Error' && (f.Location.Path ?? []).includes('NotACloudFormationProperty'))).toBe(true);
  }, 60_000);
});
