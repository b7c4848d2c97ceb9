/**
 * The state machine definitions exactly as the stack deploys them (the optimizer's, and the
 * approval machine it starts), taken from the synthesized template: each DefinitionString's
 * Fn::Join is joined with function and state machine ARNs in place of Ref/GetAtt.
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

/** A deployed state machine as a local run names it. */
export interface LocalMachine {
  arn: string;
  name: string;
  definition: Record<string, unknown>;
}

/** The principals of a local run: each function's role and each state machine's role. */
export type LocalPrincipal = FunctionRole | 'stateMachine' | 'approvalStateMachine';

export interface SynthesizedDefinition {
  /** The optimizer's definition. */
  definition: Record<string, unknown>;
  optimizer: LocalMachine;
  approval: LocalMachine;
  /** Function ARN (as it appears in Task Resources) → which of our functions it is. */
  functionsByArn: Map<string, FunctionRole>;
  template: Template;
  stack: OptimizerStack;
  /** The template's resources as the local run names them; resolves every intrinsic. */
  resources: LocalResources;
  /** Each function's role, and the state machine's, by logical id: the principals of a local run. */
  roles: Record<LocalPrincipal, string>;
}

/** Synthesizes the stack without bundling the functions (only the definition is needed here). */
export function synthesizeDefinition(): SynthesizedDefinition {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new OptimizerStack(app, LOCAL_STACK_NAME, {
    env: { account: LOCAL_ACCOUNT, region: LOCAL_REGION },
  });
  const template = Template.fromStack(stack);
  const resources = new LocalResources(template.toJSON(), LOCAL_STACK_NAME);
  const machine = (construct: { node: { defaultChild: unknown } }): LocalMachine & { id: string } => {
    const id = stack.getLogicalId(construct.node.defaultChild as never);
    const r = resources.byId.get(id)!;
    return { id, arn: r.arn, name: r.name, definition: JSON.parse(resources.resolve(resources.properties(id).DefinitionString) as string) as Record<string, unknown> };
  };
  const { id: machineId, ...optimizer } = machine(stack.stateMachine);
  const { id: approvalId, ...approval } = machine(stack.approval.stateMachine);
  const functionsByArn = new Map<string, FunctionRole>();
  const roles = {} as Record<LocalPrincipal, string>;
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
  roles.approvalStateMachine = resources.properties(approvalId).RoleArn['Fn::GetAtt'][0] as string;
  return { definition: optimizer.definition, optimizer, approval, functionsByArn, template, stack, resources, roles };
}

/** Service integrations a local run emulates (infra/local/integrations.ts); any other Task resource is refused. */
export const INTEGRATION = {
  startExecutionSync: 'arn:aws:states:::states:startExecution.sync:2',
  lambdaWaitForTaskToken: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
} as const;

/** Every Task state, at any depth, with the function it invokes. */
export function taskStates(definition: Record<string, unknown>, functionsByArn: Map<string, FunctionRole>): Map<string, FunctionRole> {
  const found = new Map<string, FunctionRole>();
  const visit = (states: Record<string, Record<string, unknown>>) => {
    for (const [name, state] of Object.entries(states)) {
      if (state['Type'] === 'Task' && (Object.values(INTEGRATION) as string[]).includes(state['Resource'] as string)) {
        // Not a function invoked directly: the local run emulates the integration.
      } else if (state['Type'] === 'Task') {
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
