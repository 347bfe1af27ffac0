import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import aslValidator from 'asl-validator';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, it } from 'vitest';
import { substitute } from '#adapters/asl.ts';
import { installedChannels } from '#core/channels/installed.ts';
import {
  discrepancyColumns,
  statementAccountColumns,
  statementKeys,
  statementPrefixes,
  statementRowColumns,
} from '#finance/catalog.ts';
import { readSql, reconciliationSqlNames } from '#finance/sql.ts';
import { MicropayGateway } from '../../lib/micropay-gateway.ts';
import { reconciliationAslPath } from '../../lib/reconciliation.ts';
import { templateApp } from '../support/cdk.ts';

const app = templateApp();
const stack = new Stack(app, 'Micropay-test', { env: { account: '123456789012', region: 'ap-east-1' } });
new MicropayGateway(stack, 'Gateway');
const template = Template.fromStack(stack);
const resources = (type: string) => Object.entries(template.findResources(type));
const only = (type: string, idPrefix: string) => {
  const found = resources(type).filter(([id]) => id.startsWith(`Gateway${idPrefix}`));
  assert.equal(found.length, 1, `one ${type} ${idPrefix}`);
  return (found[0]?.[1] ?? {}) as { Properties: Record<string, never> } & Record<string, unknown>;
};
type GlueTable = {
  TableInput: {
    Name: string;
    PartitionKeys: { Name: string; Type: string }[];
    Parameters: Record<string, string>;
    StorageDescriptor: {
      Columns: { Name: string; Type: string }[];
      Location: unknown;
      SerdeInfo: { SerializationLibrary: string };
    };
  };
};
const glueTable = (idPrefix: string) =>
  only('AWS::Glue::Table', `Reconciliation${idPrefix}`).Properties as unknown as GlueTable;

describe('the reconciliation run in the regional stack', () => {
  it('starts daily at 10:30 China time (02:30 UTC) with the time it fired, for the day before', () => {
    const schedule = only('AWS::Scheduler::Schedule', 'ReconciliationSchedule').Properties as unknown as {
      ScheduleExpression: string;
      ScheduleExpressionTimezone: string;
      Target: { Arn: unknown; Input: string };
    };
    assert.equal(schedule.ScheduleExpression, 'cron(30 10 * * ? *)');
    assert.equal(schedule.ScheduleExpressionTimezone, 'Asia/Shanghai');
    assert.match(JSON.stringify(schedule.Target.Arn), /ReconciliationStateMachine/);
    assert.deepEqual(JSON.parse(schedule.Target.Input), { scheduled_time: '<aws.scheduler.scheduled-time>' });
  });

  it('is a Standard state machine from the ASL file, logged and traced, with a day and more to run', () => {
    const machine = only('AWS::StepFunctions::StateMachine', 'ReconciliationStateMachine')
      .Properties as Record<string, unknown>;
    assert.equal(machine.StateMachineType, 'STANDARD');
    assert.equal(machine.DefinitionString, readFileSync(reconciliationAslPath, 'utf8'));
    assert.deepEqual(machine.TracingConfiguration, { Enabled: true });
    assert.match(JSON.stringify(machine.LoggingConfiguration), /"Level":"ALL"/);
    const asl = JSON.parse(readFileSync(reconciliationAslPath, 'utf8')) as { TimeoutSeconds: number };
    assert.ok(asl.TimeoutSeconds > 25 * 3600, 'longer than 25 hourly rounds');
  });

  it('is valid ASL with Retry and a catch-all Catch on every Task, and fetches at most four at once', () => {
    const text = readFileSync(reconciliationAslPath, 'utf8');
    const placeholders = [...new Set([...text.matchAll(/\$\{(\w+)\}/g)].map(([, name]) => name as string))];
    const definition = JSON.parse(
      substitute(
        text,
        Object.fromEntries(placeholders.map((name) => [name, name === 'CompareParameters' ? '7' : 'x'])),
      ),
    ) as { States: Record<string, Record<string, unknown>> };
    const { isValid, errorsText } = aslValidator(definition as never);
    assert.equal(isValid, true, errorsText('\n'));
    const tasks: [string, Record<string, unknown>][] = [];
    const visit = (states: Record<string, Record<string, unknown>>) => {
      for (const [name, state] of Object.entries(states)) {
        if (state.Type === 'Task') tasks.push([name, state]);
        const inner = state.ItemProcessor as { States: Record<string, Record<string, unknown>> } | undefined;
        if (inner) visit(inner.States);
      }
    };
    visit(definition.States);
    assert.ok(tasks.length >= 9);
    for (const [name, state] of tasks) {
      assert.ok((state.Retry as unknown[] | undefined)?.length, `${name} has Retry`);
      assert.ok(
        (state.Catch as { ErrorEquals: string[] }[] | undefined)?.some((c) =>
          c.ErrorEquals.includes('States.ALL'),
        ),
        `${name} catches States.ALL`,
      );
    }
    assert.equal(definition.States.FetchRound?.MaxConcurrency, 4);
  });

  it('has four functions, each given only the variables its step reads', () => {
    const variables = (idPrefix: string) =>
      (
        only('AWS::Lambda::Function', `Reconciliation${idPrefix}`).Properties as unknown as {
          Environment: { Variables: Record<string, unknown> };
        }
      ).Environment.Variables;
    const names = (idPrefix: string) =>
      Object.keys(variables(idPrefix))
        .filter((name) => !/^(POWERTOOLS_|NODE_OPTIONS)/.test(name) && !channelVariables.includes(name))
        .sort();
    // Each channel's endpoint and settings: the functions that call channels have them all, the others none.
    const channelVariables = installedChannels.flatMap((c) => [
      c.endpoint.variable,
      ...Object.keys(c.settings ?? {}),
    ]);
    for (const idPrefix of ['Accounts', 'Fetch'])
      for (const name of channelVariables) assert.ok(name in variables(idPrefix), `${idPrefix}: ${name}`);
    for (const idPrefix of ['Record', 'Publish'])
      for (const name of channelVariables) assert.ok(!(name in variables(idPrefix)), `${idPrefix}: ${name}`);
    assert.deepEqual(names('Accounts'), ['MERCHANTS_TABLE', 'MERCHANT_SECRET_PREFIX']);
    assert.deepEqual(names('Fetch'), ['MERCHANTS_TABLE', 'MERCHANT_SECRET_PREFIX', 'STATEMENTS_BUCKET']);
    assert.deepEqual(names('Record'), ['STATEMENTS_BUCKET']);
    assert.deepEqual(names('Publish'), []);
    for (const idPrefix of ['Accounts', 'Fetch', 'Record', 'Publish'])
      assert.equal(variables(idPrefix).ORDERS_TABLE, undefined, `${idPrefix} never reads the orders`);
    assert.match(JSON.stringify(variables('Fetch').STATEMENTS_BUCKET), /FinanceBucket/);
  });

  it('catalogs statement rows and accounts as JSON lines by bill_date with projection, where the store writes them', () => {
    for (const [idPrefix, columns, prefix, key] of [
      [
        'StatementRowsTable',
        statementRowColumns,
        statementPrefixes.rows,
        statementKeys.rows('wechat', '1', '2026-12-01'),
      ],
      [
        'StatementAccountsTable',
        statementAccountColumns,
        statementPrefixes.accounts,
        statementKeys.accounts('2026-12-01'),
      ],
    ] as const) {
      const { TableInput: table } = glueTable(idPrefix);
      assert.deepEqual(
        table.StorageDescriptor.Columns.map((c) => c.Name),
        columns.map((c) => c.name),
      );
      assert.deepEqual(
        table.PartitionKeys.map((k) => [k.Name, k.Type]),
        [['bill_date', 'string']],
      );
      assert.equal(
        table.StorageDescriptor.SerdeInfo.SerializationLibrary,
        'org.openx.data.jsonserde.JsonSerDe',
      );
      assert.equal(table.Parameters['projection.enabled'], 'true');
      assert.equal(table.Parameters['projection.bill_date.type'], 'date');
      assert.equal(table.Parameters['projection.bill_date.format'], 'yyyy-MM-dd');
      // The day's partition is the folder the store writes the day's file under.
      const template = JSON.stringify(table.Parameters['storage.location.template']);
      assert.match(template, new RegExp(`/${prefix}bill_date=\\$\\{bill_date\\}/`));
      assert.ok(key.startsWith(`${prefix}bill_date=2026-12-01/`), key);
    }
  });

  it('catalogs the discrepancies as Parquet by bill_date, with the comparison’s columns in its order', () => {
    const { TableInput: table } = glueTable('DiscrepanciesTable');
    assert.deepEqual(
      table.StorageDescriptor.Columns.map((c) => c.Name),
      discrepancyColumns.map((c) => c.name),
    );
    // reconcile.sql's final SELECT names the same columns in the same order.
    const select = /\nSELECT\n([\s\S]*?)\nFROM joined/.exec(readSql('reconcile'))?.[1] ?? '';
    const selected = select
      .split(/,\n/)
      .map((item) => item.trim().split(/\s+/).pop() ?? '')
      .map((name) => name.replace(/,$/, ''));
    assert.deepEqual(
      selected,
      discrepancyColumns.map((c) => c.name),
    );
    assert.equal(
      table.StorageDescriptor.SerdeInfo.SerializationLibrary,
      'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
    );
    assert.match(
      JSON.stringify(table.Parameters['storage.location.template']),
      /\/reconciliation\/bill_date=\$\{bill_date\}\//,
    );
  });

  it('keeps the reconciliation queries in the finance workgroup as named queries', () => {
    const queries = resources('AWS::Athena::NamedQuery').map(([, q]) => q.Properties);
    for (const name of reconciliationSqlNames) {
      const query = queries.find((q) => q.Name === name);
      assert.equal(query?.QueryString, readSql(name));
      assert.equal(query?.WorkGroup, 'micropay-finance');
    }
    assert.match(
      String(queries.find((q) => q.Name === 'reconciliation-discrepancies')?.Description),
      /reconciliation discrepancies of a day/,
    );
  });

  it('alarms on each class of discrepancy, a statement missing after a day, function errors and failed runs', () => {
    for (const cls of ['missing_local', 'missing_channel', 'amount_mismatch', 'state_mismatch'])
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'Micropay',
        MetricName: 'ReconciliationDiscrepancies',
        Dimensions: Match.arrayWith([{ Name: 'class', Value: cls }]),
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmActions: Match.anyValue(),
      });
    for (const metric of ['StatementNotPublished', 'StatementNotFetched'])
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'Micropay',
        MetricName: metric,
        Dimensions: [{ Name: 'service', Value: 'micropay' }],
        AlarmActions: Match.anyValue(),
      });
    for (const fn of ['Accounts', 'Fetch', 'Record', 'Publish'])
      only('AWS::CloudWatch::Alarm', `MonitoringReconcile${fn}Errors`);
    const failed = only('AWS::CloudWatch::Alarm', 'MonitoringReconciliationFailed');
    assert.match(
      JSON.stringify(failed.Properties),
      /ExecutionsFailed.*ExecutionsTimedOut.*ExecutionsAborted/,
    );
  });

  it('keeps statements and discrepancies (no expiry), in Standard-IA after a month', () => {
    const bucket = only('AWS::S3::Bucket', 'FinanceBucket').Properties as unknown as {
      LifecycleConfiguration: { Rules: Record<string, unknown>[] };
    };
    for (const prefix of ['statements/', 'reconciliation/']) {
      const rule = bucket.LifecycleConfiguration.Rules.find((r) => r.Prefix === prefix);
      assert.deepEqual(rule?.Transitions, [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }], prefix);
      assert.equal(rule?.ExpirationInDays, undefined, prefix);
    }
  });

  it('outputs the state machine ARN that micropay reconcile --state-machine takes', () => {
    const outputs = Object.entries(template.findOutputs('*'));
    const found = outputs.find(([id]) => id.includes('ReconciliationStateMachineArn'));
    assert.ok(found);
    assert.match(JSON.stringify(found[1].Value), /ReconciliationStateMachine/);
    assert.match(String(found[1].Description), /micropay reconcile --state-machine/);
  });
});
