import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { exactDecimal, fenToYuan, maxFen, parseJsonExact, yuanToFen } from '#core/money.ts';

describe('money', () => {
  it('converts fen to yuan and back exactly for every amount from 0 to 10¹⁰ fen', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: maxFen }), (fen) => {
        const yuan = fenToYuan(fen);
        assert.match(yuan, /^\d+\.\d{2}$/);
        assert.equal(yuanToFen(yuan), fen);
      }),
      { numRuns: 10_000 },
    );
  });

  it('writes the examples of the channel documents', () => {
    assert.deepEqual([0, 1, 10, 888, 100_00].map(fenToYuan), ['0.00', '0.01', '0.10', '8.88', '100.00']);
    assert.deepEqual(['8.8', '100', '0.01'].map(yuanToFen), [880, 100_00, 1]);
  });

  it('refuses more than two decimals, signs, exponents and anything that is no decimal', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 ** 6 }),
        fc.integer({ min: 100, max: 99_999 }),
        (whole, tail) => {
          assert.equal(yuanToFen(`${whole}.${tail}`), undefined);
        },
      ),
    );
    for (const bad of ['-1.00', '1e2', '0x10', '1.', '.5', ' 1.00', '1,00', '', 'NaN', '100000000000.00']) {
      assert.equal(yuanToFen(bad), undefined, bad);
    }
  });

  it('keeps fee decimals exact and refuses what is not one', () => {
    assert.equal(exactDecimal('0.00140'), '0.00140');
    assert.equal(exactDecimal('1.5e-3'), undefined);
    assert.equal(exactDecimal('-0.1'), undefined);
  });

  it('parses JSON numbers as the text they were written in', () => {
    assert.deepEqual(parseJsonExact('{"fee":0.00140,"total":0.01,"n":[1.10,2],"s":"x"}'), {
      fee: '0.00140',
      total: '0.01',
      n: ['1.10', '2'],
      s: 'x',
    });
  });
});
