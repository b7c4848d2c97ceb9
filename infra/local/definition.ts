/**
 * The state machine definition exactly as the stack deploys it, taken from the synthesized
 * template: the DefinitionString's Fn::Join is joined with function ARNs in place of Ref/GetAtt.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { OptimizerStack } from '../stack/optimizer-stack.ts';
import type { OptimizerFunctions } from '../stack/state-machine.ts';

export const LOCAL_ACCOUNT = '123456789012';
export const LOCAL_REGION = 'us-east-1';
export type FunctionRole = keyof OptimizerFunctions;

export interface SynthesizedDefinition {
  definition: Record<string, unknown>;
  /** Function ARN (as it appears in Task Resources) → which of our functions it is. */
  functionsByArn: Map<string, FunctionRole>;
  template: Template;
  stack: OptimizerStack;
}

const functionArn = (logicalId: string) => `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${logicalId}`;

function resolveIntrinsic(value: unknown): string {
  if (typeof value === 'string') return value;
  const o = value as Record<string, unknown>;
  if ('Ref' in o) {
    const ref = o['Ref'] as string;
    if (ref === 'AWS::Partition') return 'aws';
    if (ref === 'AWS::Region') return LOCAL_REGION;
    if (ref === 'AWS::AccountId') return LOCAL_ACCOUNT;
    if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
    return functionArn(ref);
  }
  if ('Fn::GetAtt' in o) {
    const [logicalId] = o['Fn::GetAtt'] as [string, string];
    return functionArn(logicalId);
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)} in the state machine definition`);
}

/** Synthesizes the stack without bundling the functions (only the definition is needed here). */
export function synthesizeDefinition(): SynthesizedDefinition {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new OptimizerStack(app, 'GenesysIndexOptimizerLocal', {
    env: { account: LOCAL_ACCOUNT, region: LOCAL_REGION },
  });
  const template = Template.fromStack(stack);
  const machines = template.findResources('AWS::StepFunctions::StateMachine');
  const [machine] = Object.values(machines) as Array<{ Properties: { DefinitionString: unknown } }>;
  if (!machine) throw new Error('the stack has no state machine');
  const raw = machine.Properties.DefinitionString;
  let text: string;
  if (typeof raw === 'string') text = raw;
  else {
    const [separator, parts] = (raw as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
    text = parts.map(resolveIntrinsic).join(separator);
  }
  const functionsByArn = new Map<string, FunctionRole>();
  for (const [role, fn] of Object.entries(stack.functions) as Array<[FunctionRole, OptimizerFunctions[FunctionRole]]>) {
    const logicalId = stack.getLogicalId(fn.node.defaultChild as never);
    functionsByArn.set(functionArn(logicalId), role);
  }
  return { definition: JSON.parse(text) as Record<string, unknown>, functionsByArn, template, stack };
}

/** Every Task state, at any depth, with the function it invokes. */
export function taskStates(definition: Record<string, unknown>, functionsByArn: Map<string, FunctionRole>): Map<string, FunctionRole> {
  const found = new Map<string, FunctionRole>();
  const visit = (states: Record<string, Record<string, unknown>>) => {
    for (const [name, state] of Object.entries(states)) {
      if (state['Type'] === 'Task') {
        const role = functionsByArn.get(state['Resource'] as string);
        if (!role) throw new Error(`Task state ${name} invokes ${String(state['Resource'])}, which is not one of the optimizer's functions`);
        found.set(name, role);
      }
      const nested = (state['ItemProcessor'] ?? state['Iterator']) as { States?: Record<string, Record<string, unknown>> } | undefined;
      if (nested?.States) visit(nested.States);
      for (const branch of (state['Branches'] as Array<{ States: Record<string, Record<string, unknown>> }> | undefined) ?? []) visit(branch.States);
    }
  };
  visit(definition['States'] as Record<string, Record<string, unknown>>);
  return found;
}
