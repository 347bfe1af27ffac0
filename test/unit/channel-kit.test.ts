import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { digitsToInt, mismatchOf } from '#core/channels/kit/answers.ts';

describe('the channel kit: what every channel reads the same way', () => {
  const ours = { out_trade_no: 'T1', total_fee: '101', mch_id: undefined };

  it('an answer is about our request when what it states is ours and it states what it must', () => {
    assert.equal(mismatchOf({ out_trade_no: 'T1', total_fee: '101' }, ours, ['out_trade_no']), undefined);
    assert.equal(mismatchOf({ out_trade_no: 'T1' }, ours, ['out_trade_no']), undefined);
    assert.equal(mismatchOf({ out_trade_no: 'T1', mch_id: 'anyone' }, ours, []), undefined);
  });

  it('names the first field that is missing, then the first that is not ours', () => {
    assert.equal(mismatchOf({ total_fee: '101' }, ours, ['out_trade_no']), 'MISMATCH:out_trade_no');
    assert.equal(mismatchOf({ out_trade_no: 'T2' }, ours, []), 'MISMATCH:out_trade_no');
    assert.equal(mismatchOf({ out_trade_no: 'T1', total_fee: '100' }, ours, []), 'MISMATCH:total_fee');
    assert.equal(mismatchOf({ total_fee: '100' }, ours, ['out_trade_no']), 'MISMATCH:out_trade_no');
  });

  it('an empty value states nothing: no mismatch, and no required field', () => {
    assert.equal(mismatchOf({ out_trade_no: 'T1', total_fee: '' }, ours, []), undefined);
    assert.equal(mismatchOf({ out_trade_no: '' }, ours, ['out_trade_no']), 'MISMATCH:out_trade_no');
  });

  it('reads whole numbers written as digits only', () => {
    assert.deepEqual(
      ['0', '89', '123456789012345', '1234567890123456', '1.5', '-3', ' 8', '8 ', '', 'x', undefined].map(
        digitsToInt,
      ),
      [
        0,
        89,
        123456789012345,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
      ],
    );
  });
});
