/**
 * The state machine definitions exactly as the stack deploys them (the optimizer's, the
 * approval machine it starts, and with a fleet's `orgs` the Fleet machine that starts the
 * optimizer for each org), taken from the synthesized template: each DefinitionString's
 * Fn::Join is joined with function and state machine ARNs in place of Ref/GetAtt.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { OrgSetting } from '../../functions/domain/fleet.ts';
import { OptimizerStack } from '../stack/optimizer-stack.ts';
import type { OptimizerFunctions } from '../stack/state-machine.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, LocalResources, type LocalResource } from './aws/resources.ts';

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

/** The fleet's own function (a deployment with orgs); not one of the optimizer's. */
export type FleetFunctionRole = 'fleet';
/** The principals of a local run: each function's role and each state machine's role. */
export type OptimizerPrincipal = FunctionRole | 'stateMachine' | 'approvalStateMachine';
/** A fleet's principals: its function's role and the Fleet state machine's role. */
export type FleetPrincipal = FleetFunctionRole | 'fleetStateMachine';
export type LocalPrincipal = OptimizerPrincipal | FleetPrincipal;

/** The Fleet state machine and its function, as a deployment with orgs has them. */
export interface SynthesizedFleet {
  machine: LocalMachine;
  /** The fleet function's ARN (its Task states' Resource). */
  functionArn: string;
  /** The fleet function's logical id in the template (its timeout and environment). */
  functionId: string;
}

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
  /** Each function's role, and the state machine's, by logical id: the principals of a local run (the fleet's with orgs). */
  roles: Record<OptimizerPrincipal, string> & Partial<Record<FleetPrincipal, string>>;
  /** The orgs setting it was synthesized with; null: a single-org deployment. */
  orgs: OrgSetting[] | null;
  /** The Fleet state machine and its function (with orgs). */
  fleet: SynthesizedFleet | null;
  /** The Genesys secrets: the stack's own, and each org's by name (with orgs). */
  secrets: { stack: LocalResource; orgs: Map<string, LocalResource> };
}

export interface SynthesisOptions {
  /** A fleet's orgs (the `orgs` setting, as parseOrgSettings reads it): the stack then has their secrets and the Fleet machine. */
  orgs?: OrgSetting[];
}

/** Synthesizes the stack without bundling the functions (only the definition is needed here). */
export function synthesizeDefinition(options: SynthesisOptions = {}): SynthesizedDefinition {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const orgs = options.orgs && options.orgs.length > 0 ? options.orgs : null;
  const stack = new OptimizerStack(app, LOCAL_STACK_NAME, {
    env: { account: LOCAL_ACCOUNT, region: LOCAL_REGION },
    ...(orgs ? { orgs } : {}),
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
  let fleet: SynthesizedFleet | null = null;
  if (stack.fleet) {
    const { id: fleetMachineId, ...machineOfFleet } = machine(stack.fleet.machine.stateMachine);
    const functionId = stack.getLogicalId(stack.fleet.fn.node.defaultChild as never);
    roles.fleet = roleOf(functionId);
    roles.fleetStateMachine = resources.properties(fleetMachineId).RoleArn['Fn::GetAtt'][0] as string;
    fleet = { machine: machineOfFleet, functionArn: resources.byId.get(functionId)!.arn, functionId };
  }
  const secretOf = (construct: { node: { defaultChild: unknown } }) => resources.byId.get(stack.getLogicalId(construct.node.defaultChild as never))!;
  const secrets = { stack: secretOf(stack.secret), orgs: new Map([...stack.orgSecrets].map(([name, secret]) => [name, secretOf(secret)])) };
  return { definition: optimizer.definition, optimizer, approval, functionsByArn, template, stack, resources, roles, orgs, fleet, secrets };
}

/** Service integrations a local run emulates (infra/local/integrations.ts); any other Task resource is refused. */
export const INTEGRATION = {
  startExecutionSync: 'arn:aws:states:::states:startExecution.sync:2',
  lambdaWaitForTaskToken: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
} as const;

/** Every Task state, at any depth, with the function it invokes. */
export function taskStates<R extends string = FunctionRole>(definition: Record<string, unknown>, functionsByArn: ReadonlyMap<string, R>): Map<string, R> {
  const found = new Map<string, R>();
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
