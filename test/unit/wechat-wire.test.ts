import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { fromWechatTime, fromXml, toWechatTime, toXml } from '#core/channels/wechat/wire.ts';
import { maskAuthCode, newTradeId, orderHash, orderHashOfTradeId } from '#core/ids.ts';

describe('WeChat wire format', () => {
  it('round-trips fields through CDATA, even text that contains the CDATA terminator', () => {
    const fields = { appid: 'wx1', body: 'a<b]]>&c', total_fee: '0100' };
    assert.deepEqual(fromXml(toXml(fields)), fields);
  });

  it('drops empty and undefined fields when writing', () => {
    assert.equal(toXml({ a: '1', b: '', c: undefined }), '<xml><a><![CDATA[1]]></a></xml>');
  });

  it('refuses documents that are not a WeChat <xml> document', () => {
    assert.equal(fromXml('not xml at all'), undefined);
    assert.equal(fromXml('<other>1</other>'), undefined);
  });

  it('converts epoch seconds to and from Beijing time', () => {
    assert.equal(toWechatTime(1_700_000_000), '20231115061320');
    assert.equal(fromWechatTime('20231115061320'), 1_700_000_000);
    assert.equal(fromWechatTime('2023-11-15'), undefined);
  });
});

describe('ids', () => {
  it('makes 24-hex trade ids that sort by time', () => {
    const earlier = newTradeId(1_700_000_000_000, 'M1', 'zzz-last');
    const later = newTradeId(1_700_000_001_000, 'M1', 'aaa-first');
    assert.match(earlier, /^[0-9a-f]{24}$/);
    assert.ok(earlier < later);
  });

  it('names one order by merchant and mch_trade_id, whenever it is made', () => {
    const first = newTradeId(1_700_000_000_000, 'M1', 'pos-1');
    const retry = newTradeId(1_700_000_090_000, 'M1', 'pos-1');
    assert.equal(orderHashOfTradeId(first), orderHash('M1', 'pos-1'));
    assert.equal(orderHashOfTradeId(retry), orderHash('M1', 'pos-1'));
    assert.notEqual(orderHash('M2', 'pos-1'), orderHash('M1', 'pos-1'));
    assert.equal(orderHashOfTradeId('not-a-trade-id'), undefined);
  });

  it('masks all but the first and last four digits of a payment code', () => {
    assert.equal(maskAuthCode('134567890123456789'), '1345**********6789');
  });
});
