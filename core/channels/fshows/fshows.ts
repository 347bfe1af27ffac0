import { createPrivateKey, createPublicKey } from 'node:crypto';
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
import {
  type CallOutcome,
  type FshowsExpectation,
  readPayAnswer,
  readQueryAnswer,
  readReverseAnswer,
} from '#core/channels/fshows/answers.ts';
import { fshowsMethods, fshowsProtocol, fshowsVersion } from '#core/channels/fshows/protocol.ts';
import { maxJsonBytes, requestForm } from '#core/channels/fshows/wire.ts';
import type { ChannelHttp } from '#core/channels/kit/http.ts';
import { fenToYuan } from '#core/money.ts';

/**
 * fshows (付呗 liquidation platform, seed 003): WeChat barcode payments for the sub-merchants of a
 * liquidator, in CNY, with a fee breakdown. Account: `app_id` (the liquidator's), `store_id` (the
 * sub-merchant's store), optional `sub_appid` and `sub_mch_id`. Credentials: `private_key_pem` (the RSA key
 * requests are signed with) and optional `platform_public_key_pem` (fshows' key, for signed answers).
 */
export class FshowsChannel implements Channel {
  readonly name = 'fshows';
  readonly protocol = fshowsProtocol;
  private readonly gatewayUrl: string;
  private readonly http: ChannelHttp;

  constructor(gatewayUrl: string, http: ChannelHttp) {
    this.gatewayUrl = gatewayUrl;
    this.http = http;
  }

  validateSetup(account: ChannelAccount, credentials: ChannelCredentials): string[] {
    const problems: string[] = [];
    if (!account.app_id) problems.push('fshows account needs app_id');
    if (!account.store_id)
      problems.push('fshows account needs store_id (the sub-merchant store fshows assigned)');
    if (account.currency !== undefined && account.currency !== 'CNY') {
      problems.push(`fshows pays in CNY, not ${account.currency}`);
    }
    if (!credentials.private_key_pem) {
      problems.push('fshows credentials need private_key_pem (the RSA key requests are signed with)');
    } else if (!isRsaKey(() => createPrivateKey(credentials.private_key_pem ?? ''))) {
      problems.push('fshows private_key_pem is not a readable RSA private key');
    }
    const publicKey = credentials.platform_public_key_pem;
    if (publicKey !== undefined && !isRsaKey(() => createPublicKey(publicKey))) {
      problems.push('fshows platform_public_key_pem is not a readable RSA public key');
    }
    return problems;
  }

  async pay(ctx: ChannelContext, command: PayCommand, deadlineMs: number): Promise<PayResult> {
    const outcome = await this.call(ctx, fshowsMethods.pay, deadlineMs, {
      body: command.body,
      out_trade_no: command.out_trade_no,
      total_fee: fenToYuan(command.total_fee),
      spbill_create_ip: command.spbill_create_ip,
      auth_code: command.auth_code,
      store_id: ctx.account.store_id,
      sub_appid: ctx.account.sub_appid,
      goods_tag: command.goods_tag,
      sub_mch_id: ctx.account.sub_mch_id,
    });
    return readPayAnswer(outcome, this.expectation(ctx, command));
  }

  async query(ctx: ChannelContext, order: ChannelOrder, deadlineMs: number): Promise<QueryResult> {
    const outcome = await this.call(ctx, fshowsMethods.query, deadlineMs, {
      out_trade_no: order.out_trade_no,
    });
    return readQueryAnswer(outcome, this.expectation(ctx, order));
  }

  async reverse(ctx: ChannelContext, order: ChannelOrder, deadlineMs: number): Promise<ReverseResult> {
    const outcome = await this.call(ctx, fshowsMethods.reverse, deadlineMs, {
      out_trade_no: order.out_trade_no,
    });
    return readReverseAnswer(outcome, this.expectation(ctx, order));
  }

  private expectation(ctx: ChannelContext, order: ChannelOrder): FshowsExpectation {
    return {
      out_trade_no: order.out_trade_no,
      total_fee: order.total_fee,
      platformPublicKey: ctx.credentials.platform_public_key_pem,
      overTls: this.gatewayUrl.startsWith('https://'),
    };
  }

  /** Signs and posts one gateway call; `none` on timeout, network or HTTP error, or an oversize answer. */
  private async call(
    ctx: ChannelContext,
    method: string,
    deadlineMs: number,
    content: Record<string, string | undefined>,
  ): Promise<CallOutcome> {
    let form: string;
    try {
      form = requestForm(
        {
          app_id: ctx.account.app_id ?? '',
          method,
          version: fshowsVersion,
          // JSON.stringify leaves out the undefined fields: only what is given is sent (and signed).
          content: JSON.stringify(content),
        },
        ctx.credentials.private_key_pem ?? '',
      );
    } catch {
      // An unusable private key (the setup check refuses one): nothing was sent.
      return { kind: 'none', word: 'SIGNING_KEY_UNUSABLE' };
    }
    return this.http.call(
      this.gatewayUrl,
      form,
      { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      { deadlineMs, maxResponseBytes: maxJsonBytes },
    );
  }
}

function isRsaKey(load: () => { asymmetricKeyType?: string }): boolean {
  try {
    return load().asymmetricKeyType === 'rsa';
  } catch {
    return false;
  }
}
