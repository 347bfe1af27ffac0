import assert from 'node:assert/strict';
import { Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { build } from 'esbuild';
import { describe, it } from 'vitest';
import { MicropayGateway, type MicropayGatewayProps } from '../../lib/micropay-gateway.ts';
import { templateApp } from '../support/cdk.ts';

/** A stack holding one gateway, as bin/app.ts makes per region. Bundling is skipped: these read templates. */
function gatewayStack(props: MicropayGatewayProps = {}, checked = false) {
  const app = templateApp();
  const stack = new Stack(app, 'Micropay-test', { env: { account: '123456789012', region: 'ap-east-1' } });
  if (checked) Aspects.of(stack).add(new AwsSolutionsChecks({ verbose: true }));
  new MicropayGateway(stack, 'Gateway', props);
  return stack;
}

const stack = gatewayStack();
const template = Template.fromStack(stack);

/** One stack with every property set otherwise than by default (synthesized once: a synth takes a second). */
let customized: Template | undefined;
const custom = () => {
  customized ??= Template.fromStack(
    gatewayStack({
      channelUrls: { blueocean: 'https://api.au.blueoceanpay.com' },
      channelSettings: { ALIPAY_PROTOCOL: 'guidance' },
      workflowType: StateMachineType.STANDARD,
      throttling: { reverse: { rateLimit: 5, burstLimit: 10 } },
      alarmEmail: 'oncall@example.com',
    }),
  );
  return customized;
};
const resources = (type: string) => Object.entries(template.findResources(type));

function policyStatementsOf(roleLogicalIdPrefix: string): { Action: string | string[]; Resource: unknown }[] {
  return resources('AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(roleLogicalIdPrefix))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
}

describe('MicropayGateway', () => {
  it('keeps orders in an on-demand table with point-in-time recovery, retained on delete', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        KeySchema: [{ AttributeName: 'order_key', KeyType: 'HASH' }],
        DeletionProtectionEnabled: true,
      }),
      DeletionPolicy: 'Retain',
    });
    for (const [, table] of resources('AWS::DynamoDB::Table')) {
      assert.deepEqual(table.Properties.PointInTimeRecoverySpecification, {
        PointInTimeRecoveryEnabled: true,
      });
      // No secondary indexes: a payment's writes cost no index writes.
      assert.equal(table.Properties.GlobalSecondaryIndexes, undefined);
    }
  });

  it('keeps settlement wake-ups in a table whose items expire by TTL', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'bucket', KeyType: 'HASH' },
        { AttributeName: 'due', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
    });
  });

  it('runs every function on Node 24', () => {
    const functions = resources('AWS::Lambda::Function');
    // api, settle, sweep; reconciliation's accounts, fetch, record and publish.
    assert.equal(functions.length, 7);
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

  it('routes the five API paths, POST only', () => {
    const routes = resources('AWS::ApiGatewayV2::Route')
      .map(([, r]) => r.Properties.RouteKey)
      .sort();
    assert.deepEqual(routes, [
      'POST /v1/micropay',
      'POST /v1/query',
      'POST /v1/refund',
      'POST /v1/refund/query',
      'POST /v1/reverse',
    ]);
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

  it('alarms on an abnormal refund, a refund processing past 72 h, and failing refund calls', () => {
    for (const metric of ['RefundAbnormal', 'RefundOverdue', 'RefundCallFailed']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: metric, Namespace: 'Micropay' });
    }
  });
});

describe('channel trust in the deployed stack', () => {
  it('refuses a channel URL that is not HTTPS, for every channel', () => {
    for (const channel of ['wechat', 'alipay', 'blueocean', 'fshows'] as const) {
      assert.throws(
        () => gatewayStack({ channelUrls: { [channel]: 'http://example.com' } }),
        new RegExp(`channelUrls.${channel} must be an https:// URL`),
      );
    }
  });

  it('passes each channel URL to the functions', () => {
    custom().hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          BLUEOCEAN_BASE_URL: 'https://api.au.blueoceanpay.com',
          WECHAT_BASE_URL: 'https://api.mch.weixin.qq.com',
        }),
      },
    });
  });
});

describe('the Alipay protocol table', () => {
  it('is seed unless the stack chooses guidance, and every function that calls channels reads the same one', () => {
    // Those that call no channel (reconciliation's record and publish) have no channel variable at all.
    const variables = (t: Template) =>
      Object.values(t.findResources('AWS::Lambda::Function'))
        .filter((fn) => fn.Properties.Environment?.Variables?.WECHAT_BASE_URL !== undefined)
        .map((fn) => fn.Properties.Environment?.Variables?.ALIPAY_PROTOCOL);
    assert.deepEqual(variables(template), Array(5).fill('seed'));
    assert.deepEqual(variables(custom()), Array(5).fill('guidance'));
  });
});

describe('the settlement workflow type', () => {
  it('is Express by default, logging errors to a log group with a retention period', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'EXPRESS',
      LoggingConfiguration: Match.objectLike({ Level: 'ERROR', IncludeExecutionData: false }),
    });
    const logGroups = resources('AWS::Logs::LogGroup');
    assert.ok(logGroups.length > 0);
    for (const [, group] of logGroups) assert.equal(group.Properties.RetentionInDays, 90);
  });

  it('can be Standard, from the same ASL file', () => {
    custom().hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      DefinitionString: Match.stringLikeRegexp('"StartAt": "Begin"'),
    });
  });
});

describe('operating the gateway', () => {
  it('throttles each route on its own', () => {
    custom().hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      RouteSettings: Match.objectLike({
        'POST /v1/reverse': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
        'POST /v1/micropay': { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
      }),
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
  });

  it('sends alarms to a topic that refuses plain HTTP, and subscribes the on-call address', () => {
    const paged = custom();
    paged.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
    paged.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      }),
    });
    paged.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ExecutionsTimedOut' });
  });

  it('has a dashboard of payments, latency, open orders, settlements, REVERSE_FAILED, executions and restarts', () => {
    const [dashboard] = resources('AWS::CloudWatch::Dashboard');
    assert.ok(dashboard);
    const body = JSON.stringify(dashboard[1].Properties.DashboardBody);
    for (const metric of [
      '"Payments',
      'Latency',
      '"OpenOrders',
      '"Settled',
      'ReverseFailed',
      'ExecutionsFailed',
      'ExecutionsTimedOut',
      '"SettlementRestarts',
    ]) {
      assert.ok(body.includes(metric), `dashboard shows ${metric}`);
    }
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('finds nothing that is not suppressed with a reason', () => {
    const checked = gatewayStack({}, true);
    const findings = [
      ...Annotations.fromStack(checked).findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ...Annotations.fromStack(checked).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ].map((f) => `${f.id}: ${String(f.entry.data).split('\n')[0]}`);
    assert.deepEqual(findings, []);
  });
});

describe('Lambda bundles', () => {
  it('contain no sandbox, local-mode or test code', async () => {
    const entries = {
      'api/handler.ts': 'core/signing.ts',
      'settle/handler.ts': 'core/signing.ts',
      'sweep/handler.ts': 'core/signing.ts',
      'reconcile/accounts/handler.ts': 'core/reconciliation/statements.ts',
      'reconcile/fetch/handler.ts': 'core/reconciliation/statements.ts',
      'reconcile/record/handler.ts': 'core/reconciliation/statements.ts',
      'reconcile/publish/handler.ts': 'core/reconciliation/run.ts',
    };
    for (const [entry, domain] of Object.entries(entries)) {
      const result = await build({
        entryPoints: [`functions/${entry}`],
        bundle: true,
        platform: 'node',
        format: 'esm',
        external: ['@aws-sdk/*'],
        write: false,
        metafile: true,
        outfile: 'out.mjs',
        logLevel: 'silent',
      });
      const inputs = Object.keys(result.metafile.inputs);
      assert.ok(inputs.includes(domain), `${entry} bundles the domain`);
      const leaked = inputs.filter((path) => /^(sandbox|local|test|cli)\//.test(path));
      assert.deepEqual(leaked, [], `${entry} bundles ${leaked.join(', ')}`);
    }
  });
});
