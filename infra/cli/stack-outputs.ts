/** The deployed stack's outputs (infra/stack/optimizer-stack.ts): the state machines and the run bucket. */
import { DescribeStacksCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { errorText } from './execution-follower.ts';

export interface StackOutputs {
  stateMachineArn?: string;
  runBucketName?: string;
  /** The `<stackName>-Fleet` state machine: only a deployment with the `orgs` setting has it. */
  fleetStateMachineArn?: string;
}

export class StackLookupError extends Error {
  override name = 'StackLookupError';
}

export async function readStackOutputs(cfn: CloudFormationClient, stackName: string): Promise<StackOutputs> {
  let stacks;
  try {
    ({ Stacks: stacks } = await cfn.send(new DescribeStacksCommand({ StackName: stackName })));
  } catch (err) {
    throw new StackLookupError(`cannot read stack ${stackName}: ${errorText(err)}`);
  }
  const outputs = stacks?.[0]?.Outputs ?? [];
  const value = (key: string) => outputs.find((o) => o.OutputKey === key)?.OutputValue || undefined;
  const result: StackOutputs = {};
  const arn = value('StateMachineArn');
  const bucket = value('RunBucketName');
  if (arn) result.stateMachineArn = arn;
  if (bucket) result.runBucketName = bucket;
  const fleet = value('FleetStateMachineArn');
  if (fleet) result.fleetStateMachineArn = fleet;
  return result;
}
