/**
 * The synthesized template's resources as a local deployment names them: each logical id gets
 * the physical name and ARN CloudFormation would give it (in the local account and region), and
 * every intrinsic the template uses (Ref, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split, Fn::Sub)
 * resolves against them. The state machine definition, the functions' policies and their
 * environment are all read through this one resolver, so a name means the same thing everywhere.
 */
export const LOCAL_ACCOUNT = '123456789012';
export const LOCAL_REGION = 'us-east-1';

type Json = any;

export interface LocalResource {
  logicalId: string;
  type: string;
  /** What Ref gives. */
  ref: string;
  /** Physical name. */
  name: string;
  arn: string;
}

/** The bus an event or a rule names, by name or ARN (none is the default bus). */
export const busNameOf = (nameOrArn: string | undefined): string =>
  nameOrArn?.startsWith('arn:') ? nameOrArn.slice(nameOrArn.indexOf(':event-bus/') + ':event-bus/'.length) : (nameOrArn ?? 'default');

const lower = (s: string) => s.toLowerCase().replace(/[^a-z0-9-]/g, '-');

function physical(stackName: string, logicalId: string, type: string, props: Json): LocalResource {
  const r = (name: string, arn: string, ref = name): LocalResource => ({ logicalId, type, name, arn, ref });
  const region = LOCAL_REGION;
  const account = LOCAL_ACCOUNT;
  switch (type) {
    case 'AWS::S3::Bucket': {
      const name = props?.BucketName ?? lower(`${stackName}-${logicalId}`).slice(0, 63);
      return r(name, `arn:aws:s3:::${name}`);
    }
    case 'AWS::DynamoDB::Table': {
      const name = props?.TableName ?? `${stackName}-${logicalId}`;
      return r(name, `arn:aws:dynamodb:${region}:${account}:table/${name}`);
    }
    case 'AWS::SecretsManager::Secret': {
      const name = props?.Name ?? `${stackName}-${logicalId}`;
      // Secrets Manager adds six random characters to every secret's ARN.
      const arn = `arn:aws:secretsmanager:${region}:${account}:secret:${name}-AbCdEf`;
      return r(name, arn, arn);
    }
    case 'AWS::Events::EventBus': {
      const name = props?.Name ?? logicalId;
      return r(name, `arn:aws:events:${region}:${account}:event-bus/${name}`);
    }
    case 'AWS::Logs::LogGroup': {
      const name = props?.LogGroupName ?? `${stackName}-${logicalId}`;
      return r(name, `arn:aws:logs:${region}:${account}:log-group:${name}:*`);
    }
    case 'AWS::Lambda::Function': {
      const name = props?.FunctionName ?? logicalId;
      return r(name, `arn:aws:lambda:${region}:${account}:function:${name}`);
    }
    case 'AWS::IAM::Role': {
      const name = props?.RoleName ?? logicalId;
      return r(name, `arn:aws:iam::${account}:role/${name}`);
    }
    case 'AWS::StepFunctions::StateMachine': {
      const name = props?.StateMachineName ?? logicalId;
      const arn = `arn:aws:states:${region}:${account}:stateMachine:${name}`;
      return r(name, arn, arn);
    }
    case 'AWS::SNS::Topic': {
      const name = props?.TopicName ?? logicalId;
      const arn = `arn:aws:sns:${region}:${account}:${name}`;
      return r(name, arn, arn);
    }
    case 'AWS::KMS::Key':
      return r(logicalId, `arn:aws:kms:${region}:${account}:key/${logicalId}`, logicalId);
    case 'AWS::Events::Rule':
      // Named once the template's buses are known (the ARN and Ref of a rule name its bus).
      return r(props?.Name ?? logicalId, '', props?.Name ?? logicalId);
    default:
      return r(logicalId, `arn:aws:cloudformation:${region}:${account}:resource/${logicalId}`);
  }
}

export class LocalResources {
  readonly stackName: string;
  readonly byId = new Map<string, LocalResource>();
  readonly template: Json;

  constructor(template: Json, stackName: string) {
    this.template = template;
    this.stackName = stackName;
    for (const [id, res] of Object.entries<Json>(template.Resources ?? {})) {
      this.byId.set(id, physical(stackName, id, res.Type, res.Properties));
    }
    for (const [id, res] of this.ofType('AWS::Events::Rule')) {
      const rule = this.byId.get(id)!;
      const bus = this.busName(res.Properties?.EventBusName);
      // As EventBridge names a rule: a rule on a custom bus has the bus in its ARN, and CloudFormation's Ref of it is `bus|rule`.
      rule.arn = `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:rule/${bus === 'default' ? '' : `${bus}/`}${rule.name}`;
      rule.ref = bus === 'default' ? rule.name : `${bus}|${rule.name}`;
    }
  }

  /** The bus a rule names (by name or ARN; none is the default bus). */
  busName(nameOrArn: Json): string {
    return busNameOf(nameOrArn === undefined ? undefined : String(this.resolve(nameOrArn)));
  }

  /** The one resource of a type (throws when there are none or several). */
  only(type: string): LocalResource {
    const found = [...this.byId.values()].filter((r) => r.type === type);
    if (found.length !== 1) throw new Error(`the template has ${found.length} ${type} resources; expected one`);
    return found[0]!;
  }

  properties(logicalId: string): Json {
    return this.template.Resources?.[logicalId]?.Properties ?? {};
  }

  ofType(type: string): Array<[string, Json]> {
    return Object.entries<Json>(this.template.Resources ?? {}).filter(([, r]) => r.Type === type);
  }

  /** A template value with every intrinsic resolved (strings, arrays and objects alike). */
  resolve(value: Json): Json {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [k] = keys as [string];
      const arg = value[k];
      switch (k) {
        case 'Ref':
          return this.ref(arg);
        case 'Fn::GetAtt': {
          const [id, attr] = Array.isArray(arg) ? arg : String(arg).split('.');
          return this.getAtt(id, attr);
        }
        case 'Fn::Join': {
          const [sep, parts] = arg;
          return (this.resolve(parts) as unknown[]).map(String).join(sep);
        }
        case 'Fn::Select': {
          const [i, list] = arg;
          return (this.resolve(list) as unknown[])[Number(this.resolve(i))];
        }
        case 'Fn::Split': {
          const [sep, s] = arg;
          return String(this.resolve(s)).split(sep);
        }
        case 'Fn::Sub': {
          const [text, vars] = Array.isArray(arg) ? arg : [arg, {}];
          return String(text).replace(/\$\{([^}]+)\}/g, (_, name: string) => {
            if (vars && name in vars) return String(this.resolve(vars[name]));
            return name.includes('.') ? this.getAtt(...(name.split('.') as [string, string])) : this.ref(name);
          });
        }
        default:
          break;
      }
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v)]));
  }

  private ref(id: string): string {
    switch (id) {
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::Region':
        return LOCAL_REGION;
      case 'AWS::AccountId':
        return LOCAL_ACCOUNT;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return this.stackName;
      default: {
        const r = this.byId.get(id);
        if (!r) throw new Error(`Ref to ${id}, which is not in the template`);
        return r.ref;
      }
    }
  }

  private getAtt(id: string, attr: string): string {
    const r = this.byId.get(id);
    if (!r) throw new Error(`Fn::GetAtt of ${id}, which is not in the template`);
    if (attr === 'Arn') return r.arn;
    if (attr === 'Name' || attr.endsWith('Name')) return r.name;
    return `${r.arn}/${attr}`;
  }
}
