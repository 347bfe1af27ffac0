import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { OrderPlay, type PlayedOrder, randomDigits } from '#sandbox/orders.ts';
import { sandboxOutcomes } from '#sandbox/outcomes.ts';
import {
  isWechatAuthCode,
  wechatPayRefusal,
  wechatPlay,
  wechatReuseRefusal,
  wechatTransactionId,
} from '#sandbox/wechat-words.ts';

type State = 'PAYING' | 'PAID' | 'GAVE_UP' | 'GONE';
const play = new OrderPlay<State>({ paying: 'PAYING', paid: 'PAID', failed: 'GAVE_UP', reversed: 'GONE' });

/** Plays one outcome: pay, then queries until final or six, then reverses until reversed or six. */
function playOut(suffix: string) {
  const kept: PlayedOrder<State>[] = [];
  const played = play.pay('T1', `1300000000000000${suffix}`, (order) => {
    kept.push(order);
    return order;
  });
  const order = kept[0];
  const answers: string[] = [];
  for (let n = 0; order && order.state === 'PAYING' && n < 6; n++) play.query(order);
  for (let n = 0; order && order.state !== 'PAID' && order.state !== 'GONE' && n < 6; n++) {
    if (order.state === 'GAVE_UP') break;
    answers.push(play.reverse(order));
  }
  return { played: played.kind, state: order?.state, answers, queries: order?.queries ?? 0 };
}

describe('the outcome table played on a sandbox’s orders (sandbox/orders.ts)', () => {
  it('every row leaves the order its final trade_state says, in the channel’s words', () => {
    const word: Record<number, State | undefined> = { 0: 'PAID', 4: 'GONE', 7: 'GAVE_UP', 5: 'PAYING' };
    for (const row of sandboxOutcomes) {
      const { played, state } = playOut(row.suffix);
      if (played === 'refused') assert.equal(row.finalTradeState, 7, row.suffix);
      else if (row.suffix === '07') assert.equal(state, undefined, row.suffix);
      else assert.equal(state, word[row.finalTradeState], row.suffix);
    }
  });

  it('pay keeps what the payment leaves: paid now, still paying, or paid behind an error or silence', () => {
    assert.deepEqual(
      ['00', '01', '03', '05', '06', '07'].map((suffix) => [playOut(suffix).played, playOut(suffix).queries]),
      [
        ['paid', 0],
        ['paying', 2],
        ['refused', 0],
        ['error', 0],
        ['silent', 0],
        ['silent', 0],
      ],
    );
    const paid = play.pay('T2', '134567890123456700', (order) => order);
    assert.ok(paid.kind === 'paid' && paid.order.paidAt !== undefined && paid.order.outcome === '00');
  });

  it('a reverse is answered again (09), in error every time (10), and closes an unseen number', () => {
    assert.deepEqual(playOut('09').answers, ['again', 'reversed']);
    assert.deepEqual(playOut('10').answers, Array(6).fill('error'));
    assert.deepEqual(play.closed('T3'), {
      outTradeNo: 'T3',
      outcome: '',
      state: 'GONE',
      queries: 0,
      reverses: 1,
    });
  });
});

describe('WeChat’s words, for the sandboxes that answer in them (sandbox/wechat-words.ts)', () => {
  it('names its refusals, reused numbers, payment codes and order numbers as WeChat does', () => {
    assert.deepEqual(wechatPayRefusal({ kind: 'paying', order: undefined })[0], 'USERPAYING');
    assert.deepEqual(wechatPayRefusal({ kind: 'refused', reason: 'balance' })[0], 'NOTENOUGH');
    assert.deepEqual(wechatPayRefusal({ kind: 'refused', reason: 'expired' })[0], 'AUTHCODEEXPIRE');
    assert.deepEqual(wechatPayRefusal({ kind: 'error', order: undefined })[0], 'SYSTEMERROR');
    assert.deepEqual(
      (['SUCCESS', 'REVOKED', 'USERPAYING'] as const).map((state) => wechatReuseRefusal(state)[0]),
      ['ORDERPAID', 'ORDERREVERSED', 'OUT_TRADE_NO_USED'],
    );
    assert.deepEqual(
      ['134567890123456789', '164567890123456789', '13456789012345678', undefined].map(isWechatAuthCode),
      [true, false, false, false],
    );
    assert.match(wechatTransactionId(), /^4200\d{24}$/);
    assert.match(randomDigits(15), /^\d{15}$/);
    assert.equal(wechatPlay.closed('T4').state, 'REVOKED');
  });
});
