import { OrderPlay, type PlayedOrder, type PlayedPay, randomDigits } from './orders.ts';

/*
 * WeChat Pay's own words, which the sandboxes of the channels that carry WeChat payments answer in: WeChat direct,
 * fshows (which relays WeChat's err_codes and trade states) and BlueOcean (WeChat's trade states and order numbers).
 */

/** The trade states of a WeChat payment (orderquery's `trade_state`) the sandboxes use. */
export type WechatTradeState = 'SUCCESS' | 'USERPAYING' | 'PAYERROR' | 'REVOKED' | 'CLOSED';

/** A WeChat payment as a sandbox keeps it. */
export interface WechatOrder extends PlayedOrder<WechatTradeState> {
  /** WeChat's order number; absent for a number only closed by a reverse (WeChat never had that order). */
  readonly transactionId?: string;
}

/** The outcome table played in WeChat's trade states. */
export const wechatPlay = new OrderPlay<WechatTradeState>({
  paying: 'USERPAYING',
  paid: 'SUCCESS',
  failed: 'PAYERROR',
  reversed: 'REVOKED',
});

/** `trade_state_desc` of each state, as WeChat writes it. */
export const wechatStateDescriptions: Readonly<Record<WechatTradeState, string>> = {
  SUCCESS: '支付成功',
  USERPAYING: '用户支付中',
  PAYERROR: '支付失败(用户取消支付)',
  REVOKED: '已撤销',
  CLOSED: '已关闭',
};

/** WeChat's err_code and err_code_des for a pay it does not answer as paid: still paying, refused, a system error. */
export function wechatPayRefusal(
  played: Exclude<PlayedPay<unknown>, { readonly kind: 'paid' | 'silent' }>,
): [string, string] {
  switch (played.kind) {
    case 'paying':
      return ['USERPAYING', '用户支付中，需要输入密码'];
    case 'refused':
      return played.reason === 'balance'
        ? ['NOTENOUGH', '余额不足']
        : ['AUTHCODEEXPIRE', '二维码已过期，请用户在微信上刷新后再试'];
    case 'error':
      return ['SYSTEMERROR', '系统超时'];
  }
}

/** WeChat's err_code and err_code_des for a pay under an `out_trade_no` it already has, by what became of it. */
export function wechatReuseRefusal(state: WechatTradeState): [string, string] {
  if (state === 'SUCCESS') return ['ORDERPAID', '订单已支付'];
  if (state === 'REVOKED') return ['ORDERREVERSED', '订单已撤销'];
  return ['OUT_TRADE_NO_USED', '商户订单号重复'];
}

/** Whether `code` is a WeChat payment code (18 digits, `10`–`15` first); any other is refused (AUTH_CODE_INVALID). */
export function isWechatAuthCode(code: string | undefined): boolean {
  return /^1[0-5]\d{16}$/.test(code ?? '');
}

/** WeChat's order number: 28 digits, "4200…". */
export function wechatTransactionId(): string {
  return `4200${randomDigits(24)}`;
}
