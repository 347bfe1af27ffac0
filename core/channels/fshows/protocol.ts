import type { SettlementProtocol } from '#core/channels/channel.ts';
import { micropayErrCodeClass, micropaySettlement } from '#core/channels/kit/micropay.ts';

/**
 * fshows (付呗 liquidation platform, seed 003) carries WeChat barcode payments, so it is settled as WeChat
 * Pay v2 is (SPEC section 4: "as WeChat"): first query 5 s after an open answer, up to 6 queries 5 s apart,
 * then reverse, never earlier than 15 s after pay, repeated with backoff while the answer is `recall=Y`, an
 * error or nothing: the kit's micropay table. Should fshows ever differ, it overrides a value here.
 */
export const fshowsProtocol: SettlementProtocol = micropaySettlement;

/**
 * The gateway methods each call uses. Seed 003 names the pay method; query and reverse are the methods
 * integrators use for WeChat orders too (the query answer carries the order's `trade_state`).
 */
export const fshowsMethods = {
  pay: 'fshows.liquidation.wx.trade.pay',
  query: 'fshows.liquidation.alipay.trade.query',
  reverse: 'fshows.liquidation.order.reverse',
} as const;

/** The gateway's protocol version every request names. */
export const fshowsVersion = '1.0';

/**
 * How a `success: false` answer to pay is read. `refused` is final: nothing was charged. Seed 003 shows one
 * code of fshows' own (`-101`, invalid parameters: the request was not taken); its gateway's error table
 * (liquidator-platform-openapi `ErrorConstants`) adds `-100`, an invalid signature, also a request not
 * taken. For the WeChat payments it carries, it answers with WeChat's err_code about the payment (seed 004's
 * table, the kit's `micropayErrCodeClass`), read as WeChat reads them. Codes not listed (fshows' others
 * included) are pending: the order is queried, then reversed.
 */
export const payErrorClass: Readonly<Record<string, 'pending' | 'refused'>> = {
  '-100': 'refused',
  '-101': 'refused',
  ...micropayErrCodeClass,
};
