import type { SettlementProtocol } from '#core/channels/channel.ts';
import {
  micropayErrCodeClass,
  micropaySettlement,
  micropayTradeStateClass,
} from '#core/channels/kit/micropay.ts';

/**
 * WeChat Pay v2 micropay settlement (SPEC section 4, seed 004): first query 5 s after an open answer,
 * up to 6 queries 5 s apart, then reverse, never earlier than 15 s after pay, repeated with backoff while
 * WeChat answers `recall=Y` or does not answer. The table is the kit's, which the channels settled "as WeChat"
 * share.
 */
export const wechatProtocol: SettlementProtocol = micropaySettlement;

/**
 * How a `result_code=FAIL` answer to micropay is read (seed 004's error table): the err_codes about the payment,
 * which the kit keeps for every channel that relays them, and those about our request's communication with WeChat
 * (its XML, method, signature, encoding and account ids), which only a direct request earns. `pending` means the
 * outcome is open and must be queried; `refused` is final. Codes not listed are read as pending.
 */
export const payErrorClass: Readonly<Record<string, 'pending' | 'refused'>> = {
  ...micropayErrCodeClass,
  XML_FORMAT_ERROR: 'refused',
  REQUIRE_POST_METHOD: 'refused',
  SIGNERROR: 'refused',
  NOT_UTF8: 'refused',
  APPID_NOT_EXIST: 'refused',
  MCHID_NOT_EXIST: 'refused',
  APPID_MCHID_NOT_MATCH: 'refused',
};

/** How orderquery's `trade_state` is read. States not listed (and ORDERNOTEXIST) leave the outcome open. */
export const queryStateClass = micropayTradeStateClass;
