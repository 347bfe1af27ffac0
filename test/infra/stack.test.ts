import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { build } from 'esbuild';
import { describe, it } from 'vitest';
import { MicropayStack } from '../../lib/micropay-stack.ts';

// Bundling is skipped here (the synth in .ci/run bundles for real); these tests read the templates.
const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stack = new MicropayStack(app, 'Micropay-test', {
  env: { account: '123456789012', region: 'ap-east-1' },
});
const template = Template.fromStack(stack);
const resources = (type: string) => Object.entries(template.findResources(type));

function policyStatementsOf(roleLogicalIdPrefix: string): { Action: string | string[]; Resource: unknown }[] {
  return resources('AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(roleLogicalIdPrefix))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
}

describe('MicropayStack', () => {
  it('keeps orders in an on-demand table with point-in-time recovery, retained on delete', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        KeySchema: [
          { AttributeName: 'merchant_id', KeyType: 'HASH' },
          { AttributeName: 'mch_trade_id', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: Match.arrayWith([Match.objectLike({ IndexName: 'by-trade-id' })]),
        DeletionProtectionEnabled: true,
      }),
      DeletionPolicy: 'Retain',
    });
    for (const [, table] of resources('AWS::DynamoDB::Table')) {
      assert.deepEqual(table.Properties.PointInTimeRecoverySpecification, {
        PointInTimeRecoveryEnabled: true,
      });
    }
  });

  it('runs every function on Node 24', () => {
    const functions = resources('AWS::Lambda::Function');
    assert.equal(functions.length, 3);
    for (const [, fn] of functions) assert.equal(fn.Properties.Runtime, 'nodejs24.x');
  });

  it('loads the state machine from the ASL file with the settle function substituted', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      DefinitionSubstitutions: {
        SettleFunctionArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('SettlementSettle'), 'Arn'] },
      },
      DefinitionString: Match.stringLikeRegexp('\\$\\{SettleFunctionArn\\}'),
    });
  });

  it('routes the three API paths, POST only', () => {
    const routes = resources('AWS::ApiGatewayV2::Route')
      .map(([, r]) => r.Properties.RouteKey)
      .sort();
    assert.deepEqual(routes, ['POST /v1/micropay', 'POST /v1/query', 'POST /v1/reverse']);
  });

  it('lets functions read merchant secrets under the prefix only, and nothing else of Secrets Manager', () => {
    const secretStatements = resources('AWS::IAM::Policy')
      .flatMap(
        ([, p]) =>
          p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
      )
      .filter((s) => JSON.stringify(s.Action).includes('secretsmanager'));
    assert.ok(secretStatements.length >= 2);
    for (const statement of secretStatements) {
      assert.equal(statement.Action, 'secretsmanager:GetSecretValue');
      assert.match(JSON.stringify(statement.Resource), /secret:micropay\/merchants\/\*/);
    }
  });

  it('grants StartExecution to the API and the sweep, and to nothing that does not start executions', () => {
    // Of the settlement state machine (the finance export's schedule starts its own).
    const starters = resources('AWS::IAM::Policy').filter(([, p]) =>
      (p.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[]).some(
        (s) =>
          JSON.stringify(s.Action).includes('states:StartExecution') &&
          JSON.stringify(s.Resource).includes('SettlementStateMachine'),
      ),
    );
    const roles = starters.map(([, p]) => JSON.stringify(p.Properties.Roles));
    assert.equal(starters.length, 2);
    assert.ok(roles.some((r) => r.includes('MerchantApiHandler')));
    assert.ok(roles.some((r) => r.includes('SettlementSweep')));
  });

  it('gives the sweep no access to merchants or secrets', () => {
    const statements = JSON.stringify(policyStatementsOf('SettlementSweep'));
    assert.doesNotMatch(statements, /secretsmanager/);
    assert.doesNotMatch(statements, /TablesMerchants/);
  });

  it('lets the state machine invoke only the settle function', () => {
    const statements = policyStatementsOf('SettlementStateMachineRole');
    const invokes = statements.filter((s) => JSON.stringify(s.Action).includes('lambda:InvokeFunction'));
    assert.ok(invokes.length > 0);
    for (const s of invokes) assert.match(JSON.stringify(s.Resource), /SettlementSettle/);
  });

  it('runs the sweep every minute', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
  });

  it('alarms when a reverse keeps failing and when settlement executions fail', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ReverseFailed',
      Namespace: 'Micropay',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ExecutionsFailed',
      Namespace: 'AWS/States',
    });
  });
});

describe('the CDK app (bin/app.ts)', () => {
  it('makes one stack per region in the regions context', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'micropay-cdk-'));
    try {
      execFileSync(process.execPath, ['bin/app.ts'], {
        env: {
          ...process.env,
          CDK_OUTDIR: outdir,
          CDK_CONTEXT_JSON: JSON.stringify({
            regions: ['ap-east-1', 'eu-west-1', 'us-west-2'],
            'aws:cdk:bundling-stacks': [],
          }),
        },
      });
      const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as {
        artifacts: Record<string, { type: string; environment?: string }>;
      };
      const stacks = Object.entries(manifest.artifacts).filter(
        ([, a]) => a.type === 'aws:cloudformation:stack',
      );
      assert.deepEqual(stacks.map(([name]) => name).sort(), [
        'Micropay-ap-east-1',
        'Micropay-eu-west-1',
        'Micropay-us-west-2',
      ]);
      assert.deepEqual(stacks.map(([, a]) => a.environment?.split('/').pop()).sort(), [
        'ap-east-1',
        'eu-west-1',
        'us-west-2',
      ]);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('channel trust in the deployed stack', () => {
  it('refuses a WeChat base URL that is not HTTPS', () => {
    const other = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    assert.throws(
      () => new MicropayStack(other, 'Plain', { wechatBaseUrl: 'http://api.mch.weixin.qq.com' }),
      /wechatBaseUrl must be an https:\/\/ URL/,
    );
  });
});

describe('Lambda bundles', () => {
  it('contain no sandbox, local-mode or test code', async () => {
    for (const fn of ['api', 'settle', 'sweep']) {
      const result = await build({
        entryPoints: [`functions/${fn}/handler.ts`],
        bundle: true,
        platform: 'node',
        format: 'esm',
        external: ['@aws-sdk/*'],
        write: false,
        metafile: true,
        outfile: `${fn}.mjs`,
        logLevel: 'silent',
      });
      const inputs = Object.keys(result.metafile.inputs);
      assert.ok(inputs.includes('core/signing.ts'), `${fn} bundles the domain`);
      const leaked = inputs.filter((path) => /^(sandbox|local|test|cli)\//.test(path));
      assert.deepEqual(leaked, [], `${fn} bundles ${leaked.join(', ')}`);
    }
  });
});
