import {
  type BlueoceanExpectation,
  type CallOutcome,
  readPayAnswer,
  readQueryAnswer,
  readReverseAnswer,
} from '#core/channels/blueocean/answers.ts';
import {
  type BlueoceanApi,
  blueoceanApis,
  blueoceanProtocol,
  defaultBlueoceanApi,
} from '#core/channels/blueocean/protocol.ts';
import { maxJsonBytes, type RequestFields, requestBody } from '#core/channels/blueocean/wire.ts';
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
import { nonce } from '#core/ids.ts';

/**
 * BlueOcean Pay (seed 000): WeChat barcode payments for merchants in Hong Kong (and BlueOcean's other
 * regions), in the account's currency. Account: `appid` (BlueOcean's interface id), `currency` (`HKD` in
 * Hong Kong; the route's currency, which submit enforces), optional `api` (`wechat`, the seed's API and the
 * default, or `unified`) and `mp_appid`. Credentials: `api_key`, the key BlueOcean signs with both ways.
 */
export class BlueoceanChannel implements Channel {
  readonly name = 'blueocean';
  readonly protocol = blueoceanProtocol;
  private readonly baseUrl: string;
  private readonly http: ChannelHttp;

  constructor(baseUrl: string, http: ChannelHttp) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.http = http;
  }

  validateSetup(account: ChannelAccount, credentials: ChannelCredentials): string[] {
    const problems: string[] = [];
    if (!account.appid) problems.push('blueocean account needs appid');
    if (account.api !== undefined && !blueoceanApis[account.api]) {
      problems.push(`blueocean api must be one of ${Object.keys(blueoceanApis).join(', ')}`);
    }
    if (!/^[A-Z]{3}$/.test(account.currency ?? '')) {
      problems.push('blueocean account needs its currency (ISO 4217, HKD in Hong Kong)');
    }
    if ((credentials.api_key ?? '').length < 16) {
      problems.push('blueocean credentials need the api_key BlueOcean issued (at least 16 characters)');
    }
    return problems;
  }

  async pay(ctx: ChannelContext, command: PayCommand, deadlineMs: number): Promise<PayResult> {
    const api = apiOf(ctx);
    const outcome = await this.call(ctx, api.paths.pay, deadlineMs, {
      ...api.payFields,
      mp_appid: ctx.account.mp_appid,
      device_info: command.device_info,
      body: command.body,
      attach: command.attach,
      out_trade_no: command.out_trade_no,
      total_fee: command.total_fee,
      spbill_create_ip: command.spbill_create_ip,
      goods_tag: command.goods_tag,
      [api.authCodeField]: command.auth_code,
    });
    return readPayAnswer(outcome, this.expectation(ctx, command));
  }

  async query(ctx: ChannelContext, order: ChannelOrder, deadlineMs: number): Promise<QueryResult> {
    const outcome = await this.call(ctx, apiOf(ctx).paths.query, deadlineMs, {
      out_trade_no: order.out_trade_no,
    });
    return readQueryAnswer(outcome, this.expectation(ctx, order));
  }

  async reverse(ctx: ChannelContext, order: ChannelOrder, deadlineMs: number): Promise<ReverseResult> {
    const outcome = await this.call(ctx, apiOf(ctx).paths.reverse, deadlineMs, {
      out_trade_no: order.out_trade_no,
    });
    return readReverseAnswer(outcome, this.expectation(ctx, order));
  }

  private expectation(ctx: ChannelContext, order: ChannelOrder): BlueoceanExpectation {
    return {
      key: ctx.credentials.api_key ?? '',
      out_trade_no: order.out_trade_no,
      total_fee: order.total_fee,
      currency: ctx.account.currency ?? '',
      overTls: this.baseUrl.startsWith('https://'),
    };
  }

  /** Signs and posts one request; `none` on timeout, network or HTTP error, or an oversize answer. */
  private async call(
    ctx: ChannelContext,
    path: string,
    deadlineMs: number,
    fields: RequestFields,
  ): Promise<CallOutcome> {
    const body = requestBody(
      { appid: ctx.account.appid, nonce_str: nonce(), ...fields },
      ctx.credentials.api_key ?? '',
    );
    return this.http.call(
      `${this.baseUrl}${path}`,
      body,
      // BlueOcean asks every client to name itself in User-Agent, for tracing.
      { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'MicropayGateway/1.0' },
      { deadlineMs, maxResponseBytes: maxJsonBytes },
    );
  }
}

function apiOf(ctx: ChannelContext): BlueoceanApi {
  return blueoceanApis[ctx.account.api ?? defaultBlueoceanApi] ?? (blueoceanApis.wechat as BlueoceanApi);
}
