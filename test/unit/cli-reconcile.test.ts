import assert from 'node:assert/strict';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { describe, it } from 'vitest';
import { awsRunSummary, runAwsReconcile } from '../../cli/reconcile.ts';

/**
 * `micropay reconcile --state-machine`: starts the stack's run for the day asked for and follows it, against a
 * fake Step Functions that plays an execution through the states it enters.
 */

const stateMachineArn = 'arn:aws:states:ap-east-1:123456789012:stateMachine:Reconciliation';

/** Step Functions answering StartExecution, then one step of `states` per poll, then `final`. */
function fakeSfn(states: string[], final: { status: string; output?: unknown; error?: string }) {
  const started: Record<string, unknown>[] = [];
  const history: { id: number; type: string; stateEnteredEventDetails: { name: string } }[] = [];
  let polls = 0;
  const send = async (command: unknown) => {
    if (command instanceof StartExecutionCommand) {
      started.push({ ...command.input });
      return {
        executionArn: `${stateMachineArn.replace('stateMachine', 'execution')}:${command.input.name}`,
      };
    }
    if (command instanceof DescribeExecutionCommand) {
      const state = states[polls];
      polls += 1;
      if (state) {
        history.unshift({
          id: history.length + 1,
          type: 'TaskStateEntered',
          stateEnteredEventDetails: { name: state },
        });
        return { status: 'RUNNING' };
      }
      return {
        status: final.status,
        ...(final.output ? { output: JSON.stringify(final.output) } : {}),
        ...(final.error ? { error: final.error } : {}),
      };
    }
    if (command instanceof GetExecutionHistoryCommand) {
      assert.equal(command.input.includeExecutionData, false, 'no payment data on a terminal');
      assert.equal(command.input.reverseOrder, true);
      return { events: history.slice(0, command.input.maxResults) };
    }
    throw new Error(`no fake for ${(command as object).constructor.name}`);
  };
  return { sfn: { send } as unknown as SFNClient, started };
}

describe('micropay reconcile --state-machine', () => {
  it('starts the run with the day asked for and reports each step it enters, then its output', async () => {
    const output = {
      bill_date: '2026-12-01',
      accounts: { fetched: 2, not_published: 0, unknown: 0, no_statement: 1 },
      missing: [],
      discrepancies: 0,
    };
    const { sfn, started } = fakeSfn(
      [
        'ListAccounts',
        'FetchRound',
        'Pending?',
        'WaitForPublication',
        'FetchRound',
        'Record',
        'Compare',
        'Publish',
      ],
      { status: 'SUCCEEDED', output },
    );
    const lines: string[] = [];
    const run = await runAwsReconcile({
      sfn,
      stateMachineArn,
      billDate: '2026-12-01',
      wait: true,
      progress: (line) => lines.push(line),
      pollMs: 0,
    });
    assert.equal(started[0]?.stateMachineArn, stateMachineArn);
    assert.deepEqual(JSON.parse(String(started[0]?.input)), { bill_date: '2026-12-01' });
    assert.match(String(started[0]?.name), /^cli-2026-12-01-\d+$/);
    assert.deepEqual(lines.slice(1), [
      'listing the channel accounts',
      'fetching statements',
      'waiting an hour for statements not published yet',
      'fetching statements (round 2)',
      'recording the accounts',
      'comparing in Athena',
      'publishing the metrics',
    ]);
    assert.deepEqual(run.output, output);
    assert.deepEqual(awsRunSummary(run), {
      lines: [
        '2026-12-01: accounts fetched 2  not_published 0  unknown 0  no_statement 1',
        '2026-12-01: no discrepancies',
      ],
      ok: true,
    });
  });

  it('returns at once without waiting when asked', async () => {
    const { sfn } = fakeSfn(['ListAccounts'], { status: 'SUCCEEDED' });
    const run = await runAwsReconcile({
      sfn,
      stateMachineArn,
      billDate: '2026-12-01',
      wait: false,
      progress: () => {},
    });
    assert.equal(run.status, 'RUNNING');
  });

  it('fails (exit 1) on discrepancies, on a statement missing after a day, and on a failed run', () => {
    const base = {
      executionArn: 'arn',
      status: 'SUCCEEDED',
      output: {
        bill_date: '2026-12-01',
        accounts: { fetched: 1, not_published: 1, unknown: 0, no_statement: 0 },
        missing: [{ channel: 'alipay', account: '2088', status: 'not_published', said: 'NO_BILL' }],
        discrepancies: 3,
      },
    };
    const summary = awsRunSummary(base);
    assert.equal(summary.ok, false);
    assert.match(summary.lines.join('\n'), /alipay\s+2088\s+not published after a day \(NO_BILL\)/);
    assert.match(summary.lines.join('\n'), /3 rows need a person: the reconciliation-discrepancies query/);
    assert.deepEqual(
      awsRunSummary({ executionArn: 'arn', status: 'FAILED', error: 'ReconciliationFailed' }),
      {
        lines: ['reconciliation FAILED: ReconciliationFailed'],
        ok: false,
      },
    );
  });
});
