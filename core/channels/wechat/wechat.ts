import { createPrivateKey, X509Certificate } from 'node:crypto';
import type {
  Channel,
  ChannelAccount,
  ChannelContext,
  ChannelCredentials,
  ChannelOrder,
  PayCommand,
  PayResult,
  QueryResult,
  ReverseResult,
} from '#core/channels/channel.ts';
import type { ChannelHttp } from '#core/channels/kit/http.ts';
import { toUtc8 } from '#core/channels/kit/time.ts';
import {
  type CallOutcome,
  readPayAnswer,
  readQueryAnswer,
  readReverseAnswer,
  type WechatExpectation,
} from '#core/channels/wechat/answers.ts';
import { wechatProtocol } from '#core/channels/wechat/protocol.ts';
import { maxXmlBytes, toXml } from '#core/channels/wechat/wire.ts';
import { nonce } from '#core/ids.ts';
import { parseSignType, type SignType, sign } from '#core/signing.ts';

/** The WeChat Pay v2 endpoints this channel calls, relative to the base URL. */
export const wechatPaths = {
  micropay: '/pay/micropay',
  orderquery: '/pay/orderquery',
  reverse: '/secapi/pay/reverse',
} as const;

type Fields = Record<string, string | number | undefined>;

/**
 * WeChat Pay v2 micropay (seed 004). Account: `appid`, `mch_id`, optional `sub_appid`, `sub_mch_id`, and
 * `sign_type` (`MD5` default, or `HMAC-SHA256`). Credentials: `api_key` (32 characters) and the API client
 * certificate (`cert_pem`, `key_pem`), which `/secapi/pay/reverse` requires (mutual TLS).
 */
export class WechatChannel implements Channel {
  readonly name = 'wechat';
  readonly protocol = wechatProtocol;
  private readonly baseUrl: string;
  private readonly http: ChannelHttp;

  constructor(baseUrl: string, http: ChannelHttp) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.http = http;
  }

  validateSetup(account: ChannelAccount, credentials: ChannelCredentials): string[] {
    const problems: string[] = [];
    if (!account.appid) problems.push('wechat account needs appid');
    if (!account.mch_id) problems.push('wechat account needs mch_id');
    if (account.sign_type !== undefined && !parseSignType(account.sign_type)) {
      problems.push('wechat sign_type must be MD5 or HMAC-SHA256');
    }
    if (credentials.api_key?.length !== 32) problems.push('wechat credentials need a 32-character api_key');
    problems.push(...certificateProblems(credentials.cert_pem, credentials.key_pem));
    return problems;
  }

  async pay(ctx: ChannelContext, command: PayCommand, deadlineMs: number): Promise<PayResult> {
    const outcome = await this.call(ctx, wechatPaths.micropay, deadlineMs, {
      body: command.body,
      attach: command.attach,
      out_trade_no: command.out_trade_no,
      total_fee: command.total_fee,
      fee_type: command.fee_type,
      spbill_create_ip: command.spbill_create_ip,
      goods_tag: command.goods_tag,
      auth_code: command.auth_code,
      device_info: command.device_info,
      time_start: command.time_start === undefined ? undefined : toUtc8(command.time_start * 1000, 'compact'),
      time_expire:
        command.time_expire === undefined ? undefined : toUtc8(command.time_expire * 1000, 'compact'),
    });
    return readPayAnswer(outcome, expectation(ctx, command));
  }

  async query(ctx: ChannelContext, order: ChannelOrder, deadlineMs: number): Promise<QueryResult> {
    const outcome = await this.call(ctx, wechatPaths.orderquery, deadlineMs, {
      out_trade_no: order.out_trade_no,
    });
    return readQueryAnswer(outcome, expectation(ctx, order));
  }

  async reverse(ctx: ChannelContext, order: ChannelOrder, deadlineMs: number): Promise<ReverseResult> {
    const outcome = await this.call(ctx, wechatPaths.reverse, deadlineMs, {
      out_trade_no: order.out_trade_no,
    });
    return readReverseAnswer(outcome, expectation(ctx, order));
  }

  /** Signs and posts one request; `none` on timeout, network or HTTP error, or an oversize answer. */
  private async call(
    ctx: ChannelContext,
    path: string,
    deadlineMs: number,
    fields: Fields,
  ): Promise<CallOutcome> {
    const signType = signTypeOf(ctx);
    const unsigned: Fields = {
      appid: ctx.account.appid,
      mch_id: ctx.account.mch_id,
      sub_appid: ctx.account.sub_appid,
      sub_mch_id: ctx.account.sub_mch_id,
      nonce_str: nonce(),
      sign_type: signType === 'MD5' ? undefined : signType,
      ...fields,
    };
    const signed = { ...unsigned, sign: sign(unsigned, ctx.credentials.api_key ?? '', signType) };
    const { cert_pem: cert, key_pem: key } = ctx.credentials;
    return this.http.call(
      `${this.baseUrl}${path}`,
      toXml(signed),
      { 'content-type': 'text/xml; charset=utf-8' },
      {
        deadlineMs,
        maxResponseBytes: maxXmlBytes,
        certificate: path.startsWith('/secapi/') && cert && key ? { cert, key } : undefined,
      },
    );
  }
}

function signTypeOf(ctx: ChannelContext): SignType {
  return parseSignType(ctx.account.sign_type) ?? 'MD5';
}

function expectation(ctx: ChannelContext, order: ChannelOrder): WechatExpectation {
  return {
    key: ctx.credentials.api_key ?? '',
    signType: signTypeOf(ctx),
    appid: ctx.account.appid ?? '',
    mch_id: ctx.account.mch_id ?? '',
    sub_mch_id: ctx.account.sub_mch_id,
    out_trade_no: order.out_trade_no,
    total_fee: order.total_fee,
  };
}

/** WeChat's API client certificate: both halves, parseable, belonging together and not expired. */
function certificateProblems(certPem: string | undefined, keyPem: string | undefined): string[] {
  if (!certPem || !keyPem) {
    return ['wechat credentials need the API client certificate (cert_pem and key_pem): reverse requires it'];
  }
  try {
    const certificate = new X509Certificate(certPem);
    if (!certificate.checkPrivateKey(createPrivateKey(keyPem))) {
      return ['wechat cert_pem and key_pem do not belong together'];
    }
    if (Date.parse(certificate.validTo) < Date.now()) {
      return [`wechat client certificate expired on ${certificate.validTo}`];
    }
    return [];
  } catch {
    return ['wechat cert_pem or key_pem is not a readable PEM certificate and private key'];
  }
}
