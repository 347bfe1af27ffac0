import type {
  Channel,
  ChannelAccount,
  ChannelContext,
  ChannelCredentials,
  PayCommand,
  PayResult,
  QueryResult,
  ReverseResult,
} from '#core/channels/channel.ts';
import { post } from '#core/channels/http.ts';
import { payErrorClass, queryStateClass, wechatProtocol } from '#core/channels/wechat/protocol.ts';
import { fromWechatTime, fromXml, toWechatTime, toXml, type WireFields } from '#core/channels/wechat/wire.ts';
import { nonce } from '#core/ids.ts';
import type { PaymentDetails } from '#core/orders/order.ts';
import { sign, verify } from '#core/signing.ts';

/** The WeChat Pay v2 endpoints this channel calls, relative to the base URL. */
export const wechatPaths = {
  micropay: '/pay/micropay',
  orderquery: '/pay/orderquery',
  reverse: '/secapi/pay/reverse',
} as const;

type Answer = { kind: 'answer'; fields: WireFields } | { kind: 'none'; word: string };

/**
 * WeChat Pay v2 micropay (seed 004). Account: `appid`, `mch_id`, optional `sub_appid`, `sub_mch_id`.
 * Credentials: `api_key` (32 characters), and for reverse in production a client certificate
 * (`cert_pem`, `key_pem`).
 */
export class WechatChannel implements Channel {
  readonly name = 'wechat';
  readonly protocol = wechatProtocol;
  private readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  validateSetup(account: ChannelAccount, credentials: ChannelCredentials): string[] {
    const problems: string[] = [];
    if (!account.appid) problems.push('wechat account needs appid');
    if (!account.mch_id) problems.push('wechat account needs mch_id');
    if (credentials.api_key?.length !== 32) problems.push('wechat credentials need a 32-character api_key');
    if (Boolean(credentials.cert_pem) !== Boolean(credentials.key_pem)) {
      problems.push('wechat credentials need cert_pem and key_pem together');
    }
    return problems;
  }

  async pay(ctx: ChannelContext, command: PayCommand, deadlineMs: number): Promise<PayResult> {
    const answer = await this.call(ctx, wechatPaths.micropay, deadlineMs, {
      body: command.body,
      attach: command.attach,
      out_trade_no: command.out_trade_no,
      total_fee: command.total_fee,
      fee_type: command.fee_type,
      spbill_create_ip: command.spbill_create_ip,
      goods_tag: command.goods_tag,
      auth_code: command.auth_code,
      device_info: command.device_info,
      time_start: command.time_start === undefined ? undefined : toWechatTime(command.time_start),
      time_expire: command.time_expire === undefined ? undefined : toWechatTime(command.time_expire),
    });
    if (answer.kind === 'none') return { kind: 'unknown', word: answer.word };
    const f = answer.fields;
    if (f.return_code !== 'SUCCESS') {
      // Communication-level refusal: WeChat did not accept the request, so no payment exists.
      return {
        kind: 'refused',
        errCode: 'CHANNEL_REJECTED',
        errMsg: f.return_msg ?? 'rejected',
        word: 'FAIL',
      };
    }
    if (f.result_code === 'SUCCESS') return { kind: 'paid', details: paymentDetails(f), word: 'SUCCESS' };
    const errCode = f.err_code ?? 'UNKNOWN';
    const errMsg = f.err_code_des ?? errCode;
    return payErrorClass[errCode] === 'refused'
      ? { kind: 'refused', errCode, errMsg, word: errCode }
      : { kind: 'pending', errCode, errMsg, word: errCode };
  }

  async query(ctx: ChannelContext, outTradeNo: string, deadlineMs: number): Promise<QueryResult> {
    const answer = await this.call(ctx, wechatPaths.orderquery, deadlineMs, { out_trade_no: outTradeNo });
    if (answer.kind === 'none') return { kind: 'unknown', word: answer.word };
    const f = answer.fields;
    if (f.return_code !== 'SUCCESS') return { kind: 'unknown', word: `FAIL:${f.return_msg ?? ''}` };
    if (f.result_code !== 'SUCCESS') return { kind: 'pending', word: f.err_code ?? 'FAIL' };
    const state = f.trade_state ?? 'UNKNOWN';
    switch (queryStateClass[state]) {
      case 'paid':
        return { kind: 'paid', details: paymentDetails(f), word: state };
      case 'failed':
        return { kind: 'failed', errCode: state, errMsg: f.trade_state_desc ?? state, word: state };
      case 'closed':
        return { kind: 'closed', word: state };
      case 'reversed':
        return { kind: 'reversed', word: state };
      default:
        return { kind: 'pending', word: state };
    }
  }

  async reverse(ctx: ChannelContext, outTradeNo: string, deadlineMs: number): Promise<ReverseResult> {
    const answer = await this.call(ctx, wechatPaths.reverse, deadlineMs, { out_trade_no: outTradeNo });
    if (answer.kind === 'none') return { kind: 'unknown', word: answer.word };
    const f = answer.fields;
    if (f.return_code === 'SUCCESS' && f.result_code === 'SUCCESS')
      return { kind: 'reversed', word: 'SUCCESS' };
    const recall = f.recall === 'Y' ? 'recall=Y' : 'recall=N';
    return {
      kind: f.recall === 'Y' ? 'retry' : 'unknown',
      word: `${f.err_code ?? f.return_msg ?? 'FAIL'} ${recall}`,
    };
  }

  /** Signs and posts one request; answers `none` on timeout, network error, or an answer we cannot trust. */
  private async call(
    ctx: ChannelContext,
    path: string,
    deadlineMs: number,
    fields: Record<string, string | number | undefined>,
  ): Promise<Answer> {
    const key = ctx.credentials.api_key ?? '';
    const unsigned: Record<string, string | number | undefined> = {
      appid: ctx.account.appid,
      mch_id: ctx.account.mch_id,
      sub_appid: ctx.account.sub_appid,
      sub_mch_id: ctx.account.sub_mch_id,
      nonce_str: nonce(),
      ...fields,
    };
    const signed = { ...unsigned, sign: sign(unsigned, key, 'MD5') };
    let text: string;
    try {
      const { cert_pem: cert, key_pem: certKey } = ctx.credentials;
      const response = await post(
        `${this.baseUrl}${path}`,
        toXml(signed),
        { 'content-type': 'text/xml; charset=utf-8' },
        deadlineMs,
        cert && certKey ? { cert, key: certKey } : undefined,
      );
      text = response.body;
      if (response.status !== 200) return { kind: 'none', word: `HTTP_${response.status}` };
    } catch (error) {
      const timedOut =
        error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      return { kind: 'none', word: timedOut ? 'TIMEOUT' : 'NETWORK_ERROR' };
    }
    const answer = fromXml(text);
    if (!answer) return { kind: 'none', word: 'BAD_RESPONSE' };
    // WeChat signs answers it accepted; one whose signature fails could be forged, so it decides nothing.
    if (answer.return_code === 'SUCCESS' && answer.sign !== undefined && !verify(answer, key, 'MD5')) {
      return { kind: 'none', word: 'BAD_SIGNATURE' };
    }
    return { kind: 'answer', fields: answer };
  }
}

function toInt(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

function paymentDetails(f: WireFields): PaymentDetails {
  return {
    out_trade_id: f.transaction_id,
    ch_trade_id: f.out_trade_no,
    fee_type: f.fee_type,
    cash_fee: toInt(f.cash_fee),
    coupon_fee: toInt(f.coupon_fee),
    bank_type: f.bank_type,
    openid: f.openid,
    sub_openid: f.sub_openid,
    is_subscribe: f.is_subscribe,
    sub_is_subscribe: f.sub_is_subscribe,
    appid: f.appid,
    sub_appid: f.sub_appid,
    time_end: fromWechatTime(f.time_end),
  };
}
