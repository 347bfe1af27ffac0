import type { RefundProtocol, SettlementProtocol } from '#core/channels/channel.ts';
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

const day = 24 * 3600 * 1000;

/** Where WeChat documents the refund calls this channel makes. */
export const wechatRefundSource =
  'WeChat Pay v2 付款码支付: 申请退款 (pay.weixin.qq.com/wiki/doc/api/micropay.php?chapter=9_4, /secapi/pay/refund) ' +
  'and 查询退款 (chapter=9_5, /pay/refundquery); tenpay Payment#refund and Payment#refundQuery make the same calls';

/**
 * WeChat Pay v2 refunds (SPEC section 8). A refund call's SUCCESS only says WeChat took the request (申请退款接口的
 * 返回仅代表业务的受理情况): the outcome is refundquery's. Balance (零钱) refunds land within 20 minutes, bank-card
 * ones in days (查询退款: query again after three working days), so queries come quickly at first, then every 30
 * minutes. Requests refused for rate (INVALID_REQ_TOO_MUCH, FREQUENCY_LIMITED) are retried after a minute, so
 * resends back off past it. A payment may be reversed for 7 days (撤销订单); after that only a refund gives it back.
 */
export const wechatRefundProtocol: RefundProtocol = {
  queryDelaysMs: [10_000, 20_000, 60_000, 300_000, 600_000, 1_800_000],
  resendDelaysMs: [5_000, 30_000, 60_000, 120_000, 300_000],
  overdueAfterMs: 72 * 3600 * 1000,
  callDeadlineMs: 10_000,
  reverseUntil: (paidAt) => paidAt + 7 * day,
  source: wechatRefundSource,
};

/**
 * How a `result_code=FAIL` answer to `/secapi/pay/refund` is read, as 申请退款's 错误码 table says to act:
 * `retry`: nothing was taken, call again with the same `out_refund_no` (SYSTEMERROR and BIZERR_NEED_RETRY say
 * so; INVALID_REQ_TOO_MUCH and FREQUENCY_LIMITED after a while; ORDER_NOT_READY later). `refused`: the refund failed and nothing was
 * refunded (NOTENOUGH, USER_ACCOUNT_ABNORMAL, TRADE_OVERDUE "refund it another way", ERROR and INVALID_REQUEST with
 * their reason). Every other code (signature, certificate, parameters, an order or amount WeChat does not hold as
 * sent) decides nothing: the refund is sent again under its number, and the failed calls alarm.
 */
export const refundErrorClass: Readonly<Record<string, 'retry' | 'refused'>> = {
  SYSTEMERROR: 'retry',
  BIZERR_NEED_RETRY: 'retry',
  INVALID_REQ_TOO_MUCH: 'retry',
  FREQUENCY_LIMITED: 'retry',
  ORDER_NOT_READY: 'retry',
  NOTENOUGH: 'refused',
  USER_ACCOUNT_ABNORMAL: 'refused',
  TRADE_OVERDUE: 'refused',
  ERROR: 'refused',
  INVALID_REQUEST: 'refused',
};

/**
 * How a `result_code=FAIL` answer to `/pay/refundquery` is read (查询退款's 错误码): SYSTEMERROR asks again;
 * REFUNDNOTEXIST is WeChat holding no such refund (`absent`: the call never arrived, send it again under the same
 * number). Any other decides nothing.
 */
export const refundQueryErrorClass: Readonly<Record<string, 'retry' | 'absent'>> = {
  SYSTEMERROR: 'retry',
  FREQUENCY_LIMITED: 'retry',
  REFUNDNOTEXIST: 'absent',
};

/** What refundquery's `refund_status_$n` means for our refund. A status not listed decides nothing. */
export const refundStatusClass: Readonly<Record<string, 'refunded' | 'processing' | 'failed' | 'abnormal'>> =
  {
    SUCCESS: 'refunded',
    PROCESSING: 'processing',
    // 退款关闭: nothing was refunded.
    REFUNDCLOSE: 'failed',
    // 退款异常: the bank refused the card (void or frozen); the merchant settles it by hand in WeChat's portal.
    CHANGE: 'abnormal',
  };
