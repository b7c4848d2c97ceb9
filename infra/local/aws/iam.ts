/**
 * IAM as AWS evaluates it, for the principals of a local run: each function's execution role and
 * the state machine's role, with the identity policies the synthesized template attaches to them
 * and the resource policies of what they touch (the run bucket's policy, a topic's policy, a KMS
 * key's policy), evaluated by a real policy evaluator (@cloud-copilot/iam-simulate; AGPL, so a dev
 * dependency of the local runner, never bundled into a function). AWS services acting on the
 * stack's behalf (EventBridge delivering to a topic) are service principals: only resource
 * policies can allow them.
 */
import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import { LOCAL_ACCOUNT, type LocalResources } from './resources.ts';

type Json = any;

export interface IamRequest {
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
}

export interface IamDecision {
  allowed: boolean;
  /** AWS's wording, for the AccessDenied message. */
  message: string;
}

export interface Principal {
  /** The function (fetch, validate, …) or `stateMachine`. */
  name: string;
  roleArn: string;
  /** As STS names the session of an assumed role: what AccessDenied messages show. */
  sessionArn: string;
  policies: Array<{ name: string; policy: Json }>;
}

/**
 * The key policy KMS gives a key created without one: the account's IAM policies decide.
 * https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
 */
const DEFAULT_KEY_POLICY = (account: string) => ({
  Version: '2012-10-17',
  Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'kms:*', Resource: '*' }],
});

/**
 * The task-token callbacks. The Service Authorization Reference lists no resource type for them
 * (so the evaluator would accept only "*"), but AWS authorizes a callback on the state machine
 * whose task issued the token: its AccessDenied names that state machine, and a grant scoped to it
 * (what CDK's grantTaskResponse writes) works
 * (https://github.com/aws/aws-cdk/pull/8486, https://github.com/NOAA-OWP/hydrovis/issues/837).
 */
const AUTHORIZED_ON_STATE_MACHINE = new Set(['states:sendtasksuccess', 'states:sendtaskfailure', 'states:sendtaskheartbeat']);

const statementsOf = (policy: Json): Json[] => (Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement]);

export class IamAuthorizer {
  readonly principals = new Map<string, Principal>();
  private readonly resourcePolicies = new Map<string, Json>();
  private readonly cache = new Map<string, Promise<IamDecision>>();

  /** `roles`: principal name → the role's logical id in the template. */
  constructor(resources: LocalResources, roles: Record<string, string>) {
    const policiesOfRole = new Map<string, Array<{ name: string; policy: Json }>>();
    const add = (roleId: string, name: string, doc: Json) => {
      const list = policiesOfRole.get(roleId) ?? [];
      list.push({ name, policy: resources.resolve(doc) });
      policiesOfRole.set(roleId, list);
    };
    for (const [id, p] of resources.ofType('AWS::IAM::Policy')) {
      for (const role of p.Properties.Roles ?? []) add(role.Ref, id, p.Properties.PolicyDocument);
    }
    for (const [id, r] of resources.ofType('AWS::IAM::Role')) {
      for (const inline of r.Properties?.Policies ?? []) add(id, inline.PolicyName, inline.PolicyDocument);
      if ((r.Properties?.ManagedPolicyArns ?? []).length > 0) {
        // An AWS managed policy's text is not in the template: refuse rather than guess what it allows.
        throw new Error(`role ${id} has managed policies, which a local run cannot evaluate: ${JSON.stringify(r.Properties.ManagedPolicyArns)}`);
      }
    }
    for (const [name, roleId] of Object.entries(roles)) {
      const role = resources.byId.get(roleId);
      if (!role) throw new Error(`principal ${name}: role ${roleId} is not in the template`);
      this.principals.set(name, {
        name,
        roleArn: role.arn,
        sessionArn: `arn:aws:sts::${LOCAL_ACCOUNT}:assumed-role/${role.name}/${name}`,
        policies: policiesOfRole.get(roleId) ?? [],
      });
    }
    for (const [, p] of resources.ofType('AWS::S3::BucketPolicy')) {
      const bucket = resources.resolve(p.Properties.Bucket) as string;
      this.resourcePolicies.set(`arn:aws:s3:::${bucket}`, resources.resolve(p.Properties.PolicyDocument));
    }
    for (const [id, p] of resources.ofType('AWS::SNS::TopicPolicy')) {
      for (const topic of resources.resolve(p.Properties.Topics) as string[]) {
        // Each topic policy replaces the topic's whole policy: two would leave the outcome to deployment order.
        if (this.resourcePolicies.has(topic)) throw new Error(`topic ${topic} has more than one AWS::SNS::TopicPolicy (${id} is another); which one applies depends on deployment order`);
        this.resourcePolicies.set(topic, resources.resolve(p.Properties.PolicyDocument));
      }
    }
    for (const [id, k] of resources.ofType('AWS::KMS::Key')) {
      this.resourcePolicies.set(resources.byId.get(id)!.arn, k.Properties?.KeyPolicy ? resources.resolve(k.Properties.KeyPolicy) : DEFAULT_KEY_POLICY(LOCAL_ACCOUNT));
    }
  }

  /** Removes a service principal from a resource's policy (tests: what does a missing grant to an AWS service do?). */
  withoutServicePrincipal(resourceArn: string, service: string): void {
    const policy = this.resourcePolicies.get(resourceArn);
    if (!policy) throw new Error(`no resource policy for ${resourceArn}`);
    const others = (principal: Json): Json => {
      if (!principal || typeof principal !== 'object' || principal.Service === undefined) return principal;
      const kept = (Array.isArray(principal.Service) ? principal.Service : [principal.Service]).filter((s: string) => s !== service);
      const { Service: _, ...rest } = principal;
      return kept.length > 0 ? { ...rest, Service: kept } : Object.keys(rest).length > 0 ? rest : undefined;
    };
    this.resourcePolicies.set(resourceArn, {
      ...policy,
      Statement: statementsOf(policy)
        .map((s) => (s.Principal === undefined ? s : { ...s, Principal: others(s.Principal) }))
        .filter((s) => !('Principal' in s) || s.Principal !== undefined),
    });
    this.cache.clear();
  }

  /** Removes the grants of one action from a principal (tests: what does a missing permission do?). */
  withoutAction(principal: string, action: string): void {
    const p = this.principals.get(principal);
    if (!p) throw new Error(`no principal ${principal}`);
    const matches = (a: string) => a.toLowerCase() === action.toLowerCase();
    p.policies = p.policies.map(({ name, policy }) => ({
      name,
      policy: {
        ...policy,
        Statement: (Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement])
          .map((s: Json) => ({ ...s, Action: (Array.isArray(s.Action) ? s.Action : [s.Action]).filter((a: string) => !matches(a)) }))
          .filter((s: Json) => s.Action.length > 0),
      },
    }));
    this.cache.clear();
  }

  authorize(principalName: string, request: IamRequest): Promise<IamDecision> {
    return this.cached(JSON.stringify([principalName, request.action, request.resource, request.context ?? {}]), () => this.evaluate(principalName, request));
  }

  /**
   * An AWS service acting for the stack (`events.amazonaws.com` delivering a rule's event): it has
   * no identity policies, so only the resource's policy can allow it.
   */
  authorizeService(service: string, request: IamRequest): Promise<IamDecision> {
    return this.cached(JSON.stringify(['service', service, request.action, request.resource, request.context ?? {}]), async () => {
      const verdict = await this.simulate(service, [], request);
      if (verdict === 'Allowed') return { allowed: true, message: 'allowed' };
      const why = verdict === 'ExplicitlyDenied' ? 'with an explicit deny in a resource-based policy' : `because no resource-based policy allows the ${request.action} action`;
      return { allowed: false, message: `${service} is not authorized to perform: ${request.action} on resource: ${request.resource} ${why}` };
    });
  }

  private cached(key: string, evaluate: () => Promise<IamDecision>): Promise<IamDecision> {
    let decision = this.cache.get(key);
    if (!decision) {
      decision = evaluate();
      this.cache.set(key, decision);
    }
    return decision;
  }

  private resourcePolicyOf(resource: string): Json | undefined {
    if (resource.startsWith('arn:aws:s3:::')) return this.resourcePolicies.get(`arn:aws:s3:::${resource.slice(13).split('/')[0]}`);
    return this.resourcePolicies.get(resource);
  }

  private async evaluate(principalName: string, request: IamRequest): Promise<IamDecision> {
    const principal = this.principals.get(principalName);
    if (!principal) return { allowed: false, message: `the request was signed by no principal of this stack (${principalName})` };
    const verdict = await this.simulate(principal.roleArn, principal.policies, request);
    if (verdict === 'Allowed') return { allowed: true, message: 'allowed' };
    const why = verdict === 'ExplicitlyDenied' ? 'with an explicit deny in a policy' : `because no identity-based policy allows the ${request.action} action`;
    return {
      allowed: false,
      message: `User: ${principal.sessionArn} is not authorized to perform: ${request.action} on resource: ${request.resource} ${why}`,
    };
  }

  private async simulate(principal: string, identityPolicies: Principal['policies'], request: IamRequest): Promise<'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied'> {
    const resourcePolicy = this.resourcePolicyOf(request.resource);
    const simulation = {
      request: {
        principal,
        action: request.action,
        resource: { resource: request.resource, accountId: LOCAL_ACCOUNT },
        // The functions reach AWS over TLS; loopback http stands in for it here.
        contextVariables: { 'aws:SecureTransport': 'true', ...(request.context ?? {}) },
      },
      identityPolicies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy } : {}),
    };
    // The evaluator's input check would refuse the state machine as these actions' resource (see AUTHORIZED_ON_STATE_MACHINE).
    if (AUTHORIZED_ON_STATE_MACHINE.has(request.action.toLowerCase())) return runUnsafeSimulation(simulation, {});
    const result = await runSimulation(simulation, {});
    if (result.resultType !== 'single') {
      throw new Error(`IAM simulation of ${request.action} on ${request.resource} could not run: ${JSON.stringify(result).slice(0, 600)}`);
    }
    return result.overallResult;
  }
}

