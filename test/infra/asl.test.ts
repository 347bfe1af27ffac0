import assert from 'node:assert/strict';
import aslValidator from 'asl-validator';
import { describe, it } from 'vitest';
import { readSettlementAsl, substitute } from '#adapters/asl.ts';

type State = {
  Type: string;
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
};

const asl = readSettlementAsl();
const substituted = substitute(asl, {
  SettleFunctionArn: 'arn:aws:lambda:ap-east-1:123456789012:function:settle',
});
const definition = JSON.parse(substituted) as { States: Record<string, State> };

describe('the settlement state machine (statemachines/settlement.asl.json)', () => {
  it('is valid ASL', () => {
    const { isValid, errorsText } = aslValidator(JSON.parse(substituted));
    assert.equal(isValid, true, errorsText('\n'));
  });

  it('has Retry and a catch-all Catch on every Task', () => {
    const tasks = Object.entries(definition.States).filter(([, s]) => s.Type === 'Task');
    assert.ok(tasks.length >= 4);
    for (const [name, state] of tasks) {
      assert.ok(state.Retry && state.Retry.length > 0, `${name} has Retry`);
      assert.ok(
        state.Catch?.some((c) => c.ErrorEquals.includes('States.ALL')),
        `${name} catches States.ALL`,
      );
    }
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: names the ASL placeholder syntax
  it('leaves no ${...} placeholder once substituted, and refuses to substitute one it does not know', () => {
    assert.match(asl, /\$\{SettleFunctionArn\}/);
    assert.doesNotMatch(substituted, /\$\{/);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an ASL placeholder, not a template
    const unknownPlaceholder = '{"x": "${Unknown}"}';
    assert.throws(() => substitute(unknownPlaceholder, {}), /no substitution for \$\{Unknown\}/);
  });

  it('waits on timestamps the settle step computes, so the protocol table and time scale drive every wait', () => {
    const waits = Object.values(definition.States).filter((s) => s.Type === 'Wait');
    assert.ok(waits.length >= 2);
    for (const wait of waits) assert.equal((wait as { TimestampPath?: string }).TimestampPath, '$.plan.at');
  });
});
