/**
 * The state machine definition exactly as the stack deploys it, taken from the synthesized
 * template: the DefinitionString's Fn::Join is joined with function ARNs in place of Ref/GetAtt.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { OptimizerStack } from '../stack/optimizer-stack.ts';
import type { OptimizerFunctions } from '../stack/state-machine.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, LocalResources } from './aws/resources.ts';

export { LOCAL_ACCOUNT, LOCAL_REGION } from './aws/resources.ts';
export type FunctionRole = keyof OptimizerFunctions;

/** The stack name a local run deploys as: the app's default, so names match a default deployment. */
export const LOCAL_STACK_NAME = 'GenesysIndexOptimizer';

export interface SynthesizedDefinition {
  definition: Record<string, unknown>;
  /** Function ARN (as it appears in Task Resources) → which of our functions it is. */
  functionsByArn: Map<string, FunctionRole>;
  template: Template;
  stack: OptimizerStack;
  /** The template's resources as the local run names them; resolves every intrinsic. */
  resources: LocalResources;
  /** Each function's role, and the state machine's, by logical id: the principals of a local run. */
  roles: Record<FunctionRole | 'stateMachine', string>;
}

/** Synthesizes the stack without bundling the functions (only the definition is needed here). */
export function synthesizeDefinition(): SynthesizedDefinition {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new OptimizerStack(app, LOCAL_STACK_NAME, {
    env: { account: LOCAL_ACCOUNT, region: LOCAL_REGION },
  });
  const template = Template.fromStack(stack);
  const resources = new LocalResources(template.toJSON(), LOCAL_STACK_NAME);
  const machineId = stack.getLogicalId(stack.stateMachine.node.defaultChild as never);
  const raw = resources.properties(machineId).DefinitionString;
  const text = resources.resolve(raw) as string;
  const functionsByArn = new Map<string, FunctionRole>();
  const roles = {} as Record<FunctionRole | 'stateMachine', string>;
  const roleOf = (logicalId: string): string => {
    const role = resources.properties(logicalId).Role;
    return role['Fn::GetAtt'][0] as string;
  };
  for (const [role, fn] of Object.entries(stack.functions) as Array<[FunctionRole, OptimizerFunctions[FunctionRole]]>) {
    const logicalId = stack.getLogicalId(fn.node.defaultChild as never);
    functionsByArn.set(resources.byId.get(logicalId)!.arn, role);
    roles[role] = roleOf(logicalId);
  }
  roles.stateMachine = resources.properties(machineId).RoleArn['Fn::GetAtt'][0] as string;
  return { definition: JSON.parse(text) as Record<string, unknown>, functionsByArn, template, stack, resources, roles };
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
