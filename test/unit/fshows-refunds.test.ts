import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { fshows } from '#core/channels/fshows/index.ts';
import { ChannelHttp } from '#core/channels/kit/http.ts';

/**
 * fshows' liquidation API publishes no refund document: integrators' code names `fshows.liquidation.pay.refund`
 * and `fshows.liquidation.pay.refund.query` (by `out_trade_no`/`trade_no` and `out_refund_no`/`refund_no`, no amount),
 * but no published document or SDK says what the answer holds or what its states are. So the channel has no
 * `refunds`: a refund on its routes answers 202 (test/integration/partner-refunds.test.ts).
 */
describe('fshows refunds', () => {
  it('are not offered: the channel documents no refund', () => {
    const channel = fshows.create({
      url: 'https://openapi-liquidation.51fubei.com/gateway',
      http: new ChannelHttp(),
    });
    assert.equal(channel.refunds, undefined);
  });
});
