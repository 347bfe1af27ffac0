import { createPrivateKey, createPublicKey, createSign, createVerify } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fshowsMethods, fshowsVersion } from '#core/channels/fshows/protocol.ts';
import { toUtc8 } from '#core/channels/kit/time.ts';
import { rsaKeyPair } from './keys.ts';
import { sandboxFshows } from './merchants.ts';
import { bodyOf, CodedRefusal, type SandboxOptions, SandboxServer, type SandboxStarter } from './server.ts';
import {
  isWechatAuthCode,
  type WechatOrder,
  wechatPayRefusal,
  wechatPlay,
  wechatReuseRefusal,
  wechatTransactionId,
} from './wechat-words.ts';

type Endpoint = keyof typeof fshowsMethods;
type Fields = Record<string, string>;

/** Calls the sandbox received for one `out_trade_no`, by endpoint (gateway method). */
export type FshowsCalls = Record<Endpoint, number>;

/** One liquidator account the sandbox knows: its `app_id`, the public key of its request key, its stores. */
export interface FshowsSandboxAccount {
  readonly app_id: string;
  readonly public_key_pem: string;
  readonly store_ids: readonly string[];
}

export interface FshowsSandboxOptions extends SandboxOptions {
  readonly accounts: readonly FshowsSandboxAccount[];
  /** The platform's private key: answers are signed with it (`sign` beside `return_value`) unless `signAnswers` is false. */
  readonly platform_private_key_pem: string;
  /** @default true */
  readonly signAnswers?: boolean;
}

interface SandboxOrder extends WechatOrder {
  /** In fen. */
  readonly totalFen: number;
}

/** Ends a call with fshows' failure form: `{"error_code", "error_message", "success": false}`. */
class Refusal extends CodedRefusal<string> {}

/** The gateway's common parameters; anything else is invalid (-101). */
const commonParameters = ['app_id', 'method', 'version', 'content', 'sign'] as const;

/** Each method's content: required fields, then the optional ones (seed 003; query and reverse by order number). */
const contentFields: Record<Endpoint, { required: readonly string[]; optional: readonly string[] }> = {
  pay: {
    required: ['body', 'out_trade_no', 'total_fee', 'spbill_create_ip', 'auth_code', 'store_id'],
    optional: ['sub_appid', 'goods_tag', 'sub_mch_id', 'notify_url'],
  },
  query: { required: ['out_trade_no'], optional: [] },
  reverse: { required: ['out_trade_no'], optional: [] },
};

/** Fee rates the sandbox charges, five decimals as fshows writes them. */
const rates = {
  liquidator_commission_rate: '0.00140',
  bank_commission_rate: '0.00030',
  pay_platform_rate: '0.00200',
  gatewayCommissionRate: '0.00100',
} as const;

/**
 * An fshows (付呗 liquidation) sandbox over HTTPS, strict as its gateway: form POSTs of `app_id`, `method`,
 * `version=1.0`, `content` (JSON) and `sign` (SHA1withRSA over the sorted non-empty parameters, verified with
 * the account's public key) at `/gateway`; `-100` (invalid signature) and `-101` (invalid parameters: anything
 * missing, unknown or malformed) in seed 003's bare failure form; WeChat's err_codes for the WeChat payments it carries, and reused
 * order numbers. Answers `{"success": true, "return_value": {...}}` with amounts and fees as JSON numbers in
 * yuan (five decimals for fees), signed with the platform key over `return_value`'s exact text. Outcomes by
 * the last two digits of `auth_code` (SPEC section 6). A test double: nothing under core/, adapters/ or
 * functions/ may import it.
 */
export class FshowsSandbox extends SandboxServer<Endpoint> {
  private readonly options: FshowsSandboxOptions;
  private readonly accounts = new Map<string, FshowsSandboxAccount>();
  private readonly orders = new Map<string, SandboxOrder>();

  constructor(options: FshowsSandboxOptions) {
    super('fshows sandbox', ['pay', 'query', 'reverse'], {
      tls: options.pki.server,
      timeScale: options.timeScale,
      path: '/gateway',
    });
    this.options = options;
    createPrivateKey(options.platform_private_key_pem);
    for (const account of options.accounts) {
      createPublicKey(account.public_key_pem);
      this.accounts.set(account.app_id, account);
    }
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.url !== '/gateway') return void res.writeHead(404).end();
    try {
      if (req.method !== 'POST') throw new Refusal('-101', '无效参数: 请使用POST');
      const params = readForm((await bodyOf(req)).toString('utf8'));
      if (!params) throw new Refusal('-101', '无效参数: 参数重复');
      const missing = commonParameters.find((name) => !params[name]);
      if (missing) throw new Refusal('-101', `无效参数: 缺少${missing}`);
      const unknown = Object.keys(params).find(
        (name) => !(commonParameters as readonly string[]).includes(name),
      );
      if (unknown) throw new Refusal('-101', `无效参数: 未定义的参数${unknown}`);
      if (params.version !== fshowsVersion) throw new Refusal('-101', '无效参数: version');
      const account = this.accounts.get(params.app_id ?? '');
      if (!account) throw new Refusal('-101', '无效参数: app_id不存在');
      if (!signatureValid(params, account.public_key_pem)) throw new Refusal('-100', '无效签名');
      const endpoint = (Object.keys(fshowsMethods) as Endpoint[]).find(
        (name) => fshowsMethods[name] === params.method,
      );
      if (!endpoint) throw new Refusal('-101', `无效参数: 方法${params.method}不存在`);
      const content = readContent(params.content ?? '', endpoint);
      const outTradeNo = content.out_trade_no ?? '';
      this.record(outTradeNo, endpoint);
      const order = this.orders.get(outTradeNo);
      switch (endpoint) {
        case 'pay': {
          if (!account.store_ids.includes(content.store_id ?? ''))
            throw new Refusal('-101', '无效参数: store_id不存在');
          if (order) throw new Refusal(...wechatReuseRefusal(order.state));
          const value = this.pay(content, outTradeNo);
          return value ? this.success(res, value) : this.hang(res);
        }
        case 'query':
          return this.success(res, this.query(order));
        case 'reverse':
          return this.success(res, this.reverse(order, outTradeNo));
      }
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      // The gateway's own refusals (-100 signature, -101 parameters) take seed 003's failure form: bare, unsigned.
      this.answer(
        res,
        [
          ['error_code', JSON.stringify(error.code)],
          ['error_message', JSON.stringify(error.message)],
          ['success', 'false'],
        ],
        !error.code.startsWith('-'),
      );
    }
  }

  /** The outcome table (SPEC section 6); undefined when the sandbox must not answer at all. */
  private pay(content: Fields, outTradeNo: string): Member[] | undefined {
    if (!isWechatAuthCode(content.auth_code)) throw new Refusal('AUTH_CODE_INVALID', '授权码检验错误');
    const totalFen = yuanToFen(content.total_fee ?? '');
    if (totalFen === undefined) throw new Refusal('-101', '无效参数: total_fee(元, 最多两位小数)');
    // fshows relays WeChat's own answers for the WeChat payments it carries.
    const played = wechatPlay.pay(outTradeNo, content.auth_code, (opened) => {
      const order: SandboxOrder = { ...opened, totalFen, transactionId: wechatTransactionId() };
      this.orders.set(outTradeNo, order);
      return order;
    });
    if (played.kind === 'silent') return undefined;
    if (played.kind === 'paid') return paymentMembers(played.order);
    throw new Refusal(...wechatPayRefusal(played));
  }

  private query(order: SandboxOrder | undefined): Member[] {
    if (!order) throw new Refusal('ORDERNOTEXIST', '订单不存在');
    wechatPlay.query(order);
    if (order.state === 'SUCCESS') return [...paymentMembers(order), ['trade_state', '"SUCCESS"']];
    return [
      ['out_trade_no', JSON.stringify(order.outTradeNo)],
      ['total_fee', yuan(order.totalFen)],
      ['trade_state', JSON.stringify(order.state)],
    ];
  }

  private reverse(order: SandboxOrder | undefined, outTradeNo: string): Member[] {
    const answer = (recall: 'Y' | 'N'): Member[] => [
      ['out_trade_no', JSON.stringify(outTradeNo)],
      ['recall', JSON.stringify(recall)],
    ];
    if (!order) {
      // Reversing an order fshows never saw closes its number, so a late pay cannot go through.
      this.orders.set(outTradeNo, { ...wechatPlay.closed(outTradeNo), totalFen: 0 });
      return answer('N');
    }
    const reversed = wechatPlay.reverse(order);
    if (reversed === 'error') throw new Refusal('SYSTEMERROR', '系统超时');
    return answer(reversed === 'again' ? 'Y' : 'N');
  }

  private success(res: ServerResponse, value: Member[]): void {
    this.answer(res, [
      ['return_value', `{${value.map(([name, text]) => `${JSON.stringify(name)}:${text}`).join(',')}}`],
      ['success', 'true'],
    ]);
  }

  /**
   * Writes an answer from members given as JSON text, and signs it: the sorted members (a string's content,
   * anything else its JSON text) joined as `name=value` with `&`, SHA1withRSA with the platform key.
   */
  private answer(res: ServerResponse, members: Member[], signable = true): void {
    const all = [...members];
    if (signable && this.options.signAnswers !== false) {
      const content = [...members]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([name, text]) => `${name}=${text.startsWith('"') ? (JSON.parse(text) as string) : text}`)
        .join('&');
      const signer = createSign('RSA-SHA1');
      signer.update(content, 'utf8');
      all.push(['sign', JSON.stringify(signer.sign(this.options.platform_private_key_pem, 'base64'))]);
    }
    const body = `{${all.map(([name, text]) => `${JSON.stringify(name)}:${text}`).join(',')}}`;
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(body);
  }
}

/** A member of an answer: its name and its value as JSON text (so amounts go out as exact JSON numbers). */
type Member = [string, string];

/** A paid order as fshows reports it: yuan as JSON numbers, fees and the net amount to five decimals. */
function paymentMembers(order: SandboxOrder): Member[] {
  const fees = {
    liquidator_commission_fee: fee(order.totalFen, rates.liquidator_commission_rate),
    bank_commission_fee: fee(order.totalFen, rates.bank_commission_rate),
    pay_platform_fee: fee(order.totalFen, rates.pay_platform_rate),
    gatewayCommissionFee: fee(order.totalFen, rates.gatewayCommissionRate),
  };
  const net = BigInt(order.totalFen) * 1000n - Object.values(fees).reduce((sum, f) => sum + f, 0n);
  return [
    ['transaction_id', JSON.stringify(order.transactionId ?? '')],
    ['out_trade_no', JSON.stringify(order.outTradeNo)],
    ['openid', '"odBg7w0urs07MhHgZT2leFHOfAo1"'],
    ['is_subscribe', '"N"'],
    ['trade_type', '"MICROPAY"'],
    ['bank_type', '"CFT"'],
    ['fee_type', '"CNY"'],
    ['total_fee', yuan(order.totalFen)],
    ['cash_fee', yuan(order.totalFen)],
    ['coupon_fee', '0.00'],
    ['time_end', JSON.stringify(toUtc8(order.paidAt ?? Date.now(), 'compact'))],
    ...Object.entries(fees).map(([name, value]): Member => [name, fiveDecimals(value)]),
    ['net_money', fiveDecimals(net)],
    ...Object.entries(rates).map(([name, rate]): Member => [name, rate]),
  ];
}

/** `fen × rate`, in units of 10⁻⁵ yuan, rounded half up. */
function fee(totalFen: number, rate: string): bigint {
  const rateE5 = BigInt(rate.replace('.', ''));
  return (BigInt(totalFen) * rateE5 + 50n) / 100n;
}

function fiveDecimals(e5: bigint): string {
  const digits = e5.toString().padStart(6, '0');
  return `${digits.slice(0, -5)}.${digits.slice(-5)}`;
}

function yuan(totalFen: number): string {
  const digits = String(totalFen).padStart(3, '0');
  return `${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

function yuanToFen(text: string): number | undefined {
  const m = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(text);
  if (!m) return undefined;
  const fen = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
  return fen > 0 ? fen : undefined;
}

/** The form's parameters; undefined when a name repeats. */
function readForm(text: string): Fields | undefined {
  const fields: Fields = {};
  for (const [name, value] of new URLSearchParams(text)) {
    if (Object.hasOwn(fields, name)) return undefined;
    fields[name] = value;
  }
  return fields;
}

/** `content` as the method defines it: a JSON object of strings with its required fields and no others. */
function readContent(text: string, endpoint: Endpoint): Fields {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Refusal('-101', '无效参数: content不是JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Refusal('-101', '无效参数: content不是JSON对象');
  }
  const { required, optional } = contentFields[endpoint];
  const content: Fields = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (!required.includes(name) && !optional.includes(name))
      throw new Refusal('-101', `无效参数: 未定义的参数${name}`);
    if (typeof value !== 'string') throw new Refusal('-101', `无效参数: ${name}`);
    content[name] = value;
  }
  const missing = required.find((name) => !content[name]);
  if (missing) throw new Refusal('-101', `无效参数: 缺少${missing}`);
  return content;
}

/** SHA1withRSA over the sorted non-empty parameters but `sign`, with the account's public key. */
function signatureValid(params: Fields, publicKeyPem: string): boolean {
  const content = Object.keys(params)
    .filter((name) => name !== 'sign' && params[name] !== '')
    .sort()
    .map((name) => `${name}=${params[name]}`)
    .join('&');
  const verifier = createVerify('RSA-SHA1');
  verifier.update(content, 'utf8');
  try {
    return verifier.verify(publicKeyPem, params.sign ?? '', 'base64');
  } catch {
    return false;
  }
}

/**
 * Starts the fshows sandbox for M100000005's account, with this run's key pairs: the merchant's request key
 * (the sandbox verifies with its public half) and the platform's answer key (the gateway gets its public half).
 */
export const fshowsStarter: SandboxStarter = async ({ deadlineScale, pki, dataDir }) => {
  const dir = dataDir && join(dataDir, 'fshows');
  const [merchant, platform] = await Promise.all([rsaKeyPair(dir, 'merchant'), rsaKeyPair(dir, 'platform')]);
  const { account } = sandboxFshows;
  const sandbox = new FshowsSandbox({
    accounts: [
      { app_id: account.app_id, public_key_pem: merchant.public_pem, store_ids: [account.store_id] },
    ],
    platform_private_key_pem: platform.private_pem,
    timeScale: deadlineScale,
    pki,
  });
  return {
    label: 'fshows sandbox',
    url: await sandbox.listen(),
    paths: 'form POST: fshows.liquidation.wx.trade.pay, .alipay.trade.query, .order.reverse',
    credentials: { private_key_pem: merchant.private_pem, platform_public_key_pem: platform.public_pem },
    callsFor: (outTradeNo) => sandbox.callsFor(outTradeNo),
    callTimes: (outTradeNo) => sandbox.callTimes(outTradeNo),
    merchantAddFlags: () =>
      dir === undefined
        ? undefined
        : `--fshows-app-id ${account.app_id} --fshows-store-id ${account.store_id} --fshows-private-key ${join(dir, 'merchant-private-key.pem')} --fshows-platform-public-key ${join(dir, 'platform-public-key.pem')}`,
    close: () => sandbox.close(),
  };
};
