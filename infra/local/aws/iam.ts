/**
 * IAM as AWS evaluates it, for the principals of a local run: each function's execution role and
 * the state machine's role, with the identity policies the synthesized template attaches to them
 * and the resource policies of what they touch (the run bucket's policy), evaluated by a real
 * policy evaluator (@cloud-copilot/iam-simulate; AGPL, so a dev dependency of the local runner,
 * never bundled into a function).
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
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
    const key = JSON.stringify([principalName, request.action, request.resource, request.context ?? {}]);
    let decision = this.cache.get(key);
    if (!decision) {
      decision = this.evaluate(principalName, request);
      this.cache.set(key, decision);
    }
    return decision;
  }

  private async evaluate(principalName: string, request: IamRequest): Promise<IamDecision> {
    const principal = this.principals.get(principalName);
    if (!principal) return { allowed: false, message: `the request was signed by no principal of this stack (${principalName})` };
    const bucketArn = request.resource.startsWith('arn:aws:s3:::') ? `arn:aws:s3:::${request.resource.slice(13).split('/')[0]}` : undefined;
    const resourcePolicy = bucketArn ? this.resourcePolicies.get(bucketArn) : undefined;
    const result = await runSimulation(
      {
        request: {
          principal: principal.roleArn,
          action: request.action,
          resource: { resource: request.resource, accountId: LOCAL_ACCOUNT },
          // The functions reach AWS over TLS; loopback http stands in for it here.
          contextVariables: { 'aws:SecureTransport': 'true', ...(request.context ?? {}) },
        },
        identityPolicies: principal.policies,
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(resourcePolicy ? { resourcePolicy } : {}),
      },
      {},
    );
    if (result.resultType !== 'single') {
      throw new Error(`IAM simulation of ${request.action} on ${request.resource} could not run: ${JSON.stringify(result).slice(0, 600)}`);
    }
    const verdict = result.overallResult;
    if (verdict === 'Allowed') return { allowed: true, message: 'allowed' };
    const why = verdict === 'ExplicitlyDenied' ? 'with an explicit deny in a policy' : `because no identity-based policy allows the ${request.action} action`;
    return {
      allowed: false,
      message: `User: ${principal.sessionArn} is not authorized to perform: ${request.action} on resource: ${request.resource} ${why}`,
    };
  }
}
