import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Stack } from 'aws-cdk-lib';
import { addGatewayStacks } from '../../lib/gateway-app.ts';
import type { MicropayGateway } from '../../lib/micropay-gateway.ts';
import { templateApp } from '../support/cdk.ts';

/** The account the stacks are resolved in (bin/app.ts leaves it to the deploying credentials). */
export const account = '123456789012';

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

export interface DeployedStack {
  readonly stack: Stack;
  readonly gateway: MicropayGateway;
  readonly resources: Readonly<Record<string, CfnResource>>;
  /** Resolves the CloudFormation intrinsics in `value` to what they would be once deployed. */
  readonly resolve: (value: unknown) => unknown;
}

/**
 * The stacks bin/app.ts deploys (one per region of cdk.json), synthesized as test/support/cdk.ts does (no
 * bundling), each with a resolver for its template's intrinsics.
 */
export function deployedStacks(): DeployedStack[] {
  const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
    context: Record<string, unknown>;
  };
  const app = templateApp(cdkJson.context);
  const stacks = addGatewayStacks(app);
  const assembly = app.synth();
  return stacks.map((stack) => {
    const template = assembly.getStackByName(stack.stackName).template as {
      Resources: Record<string, CfnResource>;
    };
    return {
      stack,
      gateway: stack.node.findChild('Gateway') as MicropayGateway,
      resources: template.Resources,
      resolve: resolver(template.Resources, stack.stackName, stack.region),
    };
  });
}

/** Where a resource type keeps an explicit name, and how CloudFormation limits the names it makes. */
const naming: Record<string, { property: string; maxLength: number; lowerCase?: boolean }> = {
  'AWS::DynamoDB::Table': { property: 'TableName', maxLength: 255 },
  'AWS::S3::Bucket': { property: 'BucketName', maxLength: 63, lowerCase: true },
  'AWS::IAM::Role': { property: 'RoleName', maxLength: 64 },
  'AWS::Lambda::Function': { property: 'FunctionName', maxLength: 64 },
  'AWS::Logs::LogGroup': { property: 'LogGroupName', maxLength: 512 },
  'AWS::StepFunctions::StateMachine': { property: 'StateMachineName', maxLength: 80 },
};

/**
 * Ref, Fn::GetAtt (Arn), Fn::Join and Fn::Sub resolved as CloudFormation would, unnamed resources named as it
 * names them (`<stack>-<logical id>-<suffix>`). Anything else throws, so a test never runs on a placeholder.
 * Hand-written: cfn-resolver-lib only derives the ARN of a resource whose name the template gives, and CDK
 * gives none, so every logical id would need a resolver of its own anyway.
 */
function resolver(
  resources: Readonly<Record<string, CfnResource>>,
  stackName: string,
  region: string,
): (value: unknown) => unknown {
  const pseudo: Record<string, string> = {
    'AWS::AccountId': account,
    'AWS::Partition': 'aws',
    'AWS::Region': region,
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': stackName,
  };
  const resourceOf = (id: string) => {
    const resource = resources[id];
    if (!resource) throw new Error(`no resource ${id} in ${stackName}`);
    return resource;
  };
  const nameOf = (id: string): string => {
    const { Type, Properties } = resourceOf(id);
    const rule = naming[Type];
    if (!rule) throw new Error(`no physical name rule for ${Type} (${id})`);
    const given = Properties?.[rule.property];
    if (given !== undefined) return String(resolve(given));
    const suffix = createHash('sha256').update(`${stackName}/${id}`).digest('hex').slice(0, 12).toUpperCase();
    const name = `${stackName.slice(0, 20)}-${id.slice(0, rule.maxLength - 34)}-${suffix}`;
    return rule.lowerCase ? name.toLowerCase() : name;
  };
  const arnOf = (id: string): string => {
    const { Type } = resourceOf(id);
    const name = nameOf(id);
    switch (Type) {
      case 'AWS::DynamoDB::Table':
        return `arn:aws:dynamodb:${region}:${account}:table/${name}`;
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${name}`;
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${account}:role/${name}`;
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${region}:${account}:function:${name}`;
      case 'AWS::Logs::LogGroup':
        return `arn:aws:logs:${region}:${account}:log-group:${name}:*`;
      case 'AWS::StepFunctions::StateMachine':
        return `arn:aws:states:${region}:${account}:stateMachine:${name}`;
      default:
        throw new Error(`no ARN rule for ${Type} (${id})`);
    }
  };
  // What Ref gives: the name, except for the types whose Ref is their ARN.
  const ref = (id: string): string => {
    if (id in pseudo) return pseudo[id] as string;
    return resourceOf(id).Type === 'AWS::StepFunctions::StateMachine' ? arnOf(id) : nameOf(id);
  };
  const getAtt = (id: string, attribute: string): string => {
    if (attribute !== 'Arn') throw new Error(`no rule for Fn::GetAtt ${id}.${attribute}`);
    return arnOf(id);
  };
  const sub = (text: string, variables: Record<string, unknown>): string =>
    text.replace(/\$\{(!?)([^}]+)\}/g, (_, literal: string, name: string) => {
      if (literal) return `\${${name}}`;
      if (name in variables) return String(resolve(variables[name]));
      const [id = '', attribute] = name.split('.');
      return attribute ? getAtt(id, attribute) : ref(id);
    });
  function resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(resolve);
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value);
    const [key, argument] = entries[0] ?? [];
    if (entries.length === 1 && key && (key === 'Ref' || key.startsWith('Fn::'))) {
      switch (key) {
        case 'Ref':
          return ref(String(argument));
        case 'Fn::GetAtt': {
          const [id, attribute] = Array.isArray(argument) ? argument : String(argument).split('.');
          return getAtt(String(id), String(attribute));
        }
        case 'Fn::Join': {
          const [delimiter, parts] = argument as [string, unknown];
          return (resolve(parts) as unknown[]).join(delimiter);
        }
        case 'Fn::Sub': {
          const [text, variables = {}] = Array.isArray(argument) ? argument : [argument];
          return sub(String(text), variables as Record<string, unknown>);
        }
        default:
          throw new Error(`no rule for ${key}`);
      }
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, resolve(v)]));
  }
  return resolve;
}
