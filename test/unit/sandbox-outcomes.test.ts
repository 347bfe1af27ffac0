import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { afterQuery, payBehaviour, reverseAnswer, sandboxOutcomes } from '#sandbox/outcomes.ts';

/** The API code and `trade_state` a submit answers with, by what the sandbox's pay does. */
const submitAnswer = {
  paid: [0, 0],
  paying: [0, 6],
  error: [0, 6],
  refused: [600, 7],
  silent: [601, 6],
} as const;

describe('the sandbox outcome table and the behaviour every sandbox takes from it', () => {
  it('pay does for each row what the row says the submit answers', () => {
    for (const row of sandboxOutcomes) {
      const pay = payBehaviour(row.suffix);
      assert.deepEqual([row.submitCode, row.submitTradeState], submitAnswer[pay.kind], row.suffix);
    }
    assert.equal(payBehaviour('77').kind, 'paid');
  });

  it('a payment still being paid ends as the row says: paid at the 2nd query, cancelled, or reversed', () => {
    const finalOf = (suffix: string) => {
      for (let queries = 1; queries <= 6; queries++) {
        const now = afterQuery(suffix, queries);
        if (now === 'paid') return 0;
        if (now === 'failed') return 7;
      }
      // Six queries found it unpaid: the gateway reverses; 10 never succeeds (REVERSE_FAILED, trade_state 5).
      for (let reverses = 1; reverses <= 6; reverses++)
        if (reverseAnswer(suffix, reverses) === 'reversed') return 4;
      return 5;
    };
    for (const row of sandboxOutcomes.filter((r) => payBehaviour(r.suffix).kind === 'paying')) {
      assert.equal(finalOf(row.suffix), row.finalTradeState, row.suffix);
    }
    assert.deepEqual(
      [1, 2].map((n) => reverseAnswer('09', n)),
      ['again', 'reversed'],
    );
  });
});
