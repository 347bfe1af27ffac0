import type { ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { fromUtc8, toUtc8 } from '#core/channels/kit/time.ts';
import { toXml } from '#core/channels/wechat/wire.ts';
import { fenToYuan } from '#core/money.ts';

/*
 * The WeChat sandbox's statement (对账单) at /pay/downloadbill, in WeChat Pay v2's format (下载交易账单,
 * https://pay.weixin.qq.com/wiki/doc/api/micropay.php?chapter=9_6): a BOM, the detail header, one line per payment,
 * revoked payment and refund with every field behind a backtick, then the summary header and its line, CRLF
 * between lines; gzip with `tar_type=GZIP`; a refusal as `<xml>` with return_code=FAIL, return_msg and error_code.
 * It is made from the sandbox's own ledger (`WechatBillEntry`), so payments made at the sandbox with any client
 * (tenpay, the gateway) are in it. The day's statement is available at once; a day after today (UTC+8) is answered
 * as WeChat answers a statement it has not made yet.
 */

/** A refund's 退款状态, as refundquery and the statement write it. */
export type WechatBillRefundStatus = 'SUCCESS' | 'PROCESSING' | 'REFUNDCLOSE' | 'CHANGE' | 'FAIL';

/** One line of the sandbox's ledger: a payment, a payment revoked after it succeeded, or a refund. */
export interface WechatBillEntry {
  /** When it happened (epoch ms): 交易时间, and the day it belongs to. */
  readonly time: number;
  readonly kind: 'pay' | 'revoked' | 'refund';
  readonly appid: string;
  readonly mch_id: string;
  readonly sub_mch_id?: string;
  readonly device_info?: string;
  readonly out_trade_no: string;
  readonly transaction_id: string;
  readonly body?: string;
  readonly attach?: string;
  /** The order's amount in fen. */
  readonly total_fee: number;
  /** A refund's numbers, amount (fen) and state. */
  readonly out_refund_no?: string;
  readonly refund_id?: string;
  readonly refund_fee?: number;
  readonly refund_status?: WechatBillRefundStatus;
  /** When a refund succeeded (epoch ms), where it has. */
  readonly refund_success_time?: number;
}

/** A refund as the sandbox keeps it (the WeChat sandbox's refunds fit this shape). */
export interface BillableRefund {
  readonly outRefundNo: string;
  readonly refundId: string;
  readonly fee: number;
  readonly status: string;
  /** When WeChat accepted it (epoch ms); the statement lists a refund on that day. */
  readonly acceptedAt?: number;
  readonly successAt?: number;
}

/** An order as the WeChat sandbox keeps it: its state, when it was paid, the micropay request, its refunds. */
export interface BillableOrder {
  readonly outTradeNo: string;
  readonly state: string;
  readonly paidAt?: number;
  readonly transactionId?: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly refunds?: readonly BillableRefund[];
}

/**
 * The ledger of the sandbox's orders: each payment that succeeded (at its time), or, revoked after it succeeded,
 * the revoked payment in its place (WeChat lists such a payment under its own number, 交易状态 REVOKED; the
 * sandbox lists it at the payment's time); and each refund WeChat accepted. Orders never paid are not listed
 * (微信侧未成功下单的交易不会出现在对账单中).
 */
export function wechatLedger(orders: Iterable<BillableOrder>): WechatBillEntry[] {
  const entries: WechatBillEntry[] = [];
  for (const order of orders) {
    if (order.paidAt === undefined || !order.transactionId) continue;
    const { fields } = order;
    const base = {
      appid: fields.appid ?? '',
      mch_id: fields.mch_id ?? '',
      sub_mch_id: fields.sub_mch_id,
      device_info: fields.device_info,
      out_trade_no: order.outTradeNo,
      transaction_id: order.transactionId,
      body: fields.body,
      attach: fields.attach,
      total_fee: Number(fields.total_fee ?? 0),
    };
    entries.push({ ...base, time: order.paidAt, kind: order.state === 'REVOKED' ? 'revoked' : 'pay' });
    for (const refund of order.refunds ?? []) {
      entries.push({
        ...base,
        time: refund.acceptedAt ?? refund.successAt ?? order.paidAt,
        kind: 'refund',
        out_refund_no: refund.outRefundNo,
        refund_id: refund.refundId,
        refund_fee: refund.fee,
        refund_status: refund.status as WechatBillRefundStatus,
        refund_success_time: refund.successAt,
      });
    }
  }
  return entries;
}

/** The statement types downloadbill takes (bill_type), each with its detail columns. */
const billTypes = ['ALL', 'SUCCESS', 'REFUND', 'RECHARGE_REFUND'] as const;
type BillType = (typeof billTypes)[number];

/** Every parameter downloadbill defines; anything else is refused. */
const knownParameters = new Set(
  'appid mch_id sub_appid sub_mch_id device_info nonce_str sign sign_type bill_date bill_type tar_type'.split(
    ' ',
  ),
);

/** The fee the sandbox charges: 0.60% of the amount, rounded to the fen, by integer arithmetic. */
export const sandboxFeeRate = '0.60%';
function feeOf(fen: number): number {
  return Math.floor((fen * 6 + 500) / 1000);
}

/** Fen as the statement writes yuan, a minus sign when negative. */
function yuan(fen: number): string {
  return fen < 0 ? `-${fenToYuan(-fen)}` : fenToYuan(fen);
}
/** 手续费 as WeChat writes it: yuan with five decimals. */
function feeYuan(fen: number): string {
  return `${yuan(fen)}000`;
}

/** What one column of a line holds for an entry. */
type Cell = (entry: WechatBillEntry) => string;

const isRefund = (e: WechatBillEntry) => e.kind === 'refund';
/** The payment's amount on a payment's line; 0 on a refund's. */
const paid = (e: WechatBillEntry) => (isRefund(e) ? 0 : e.total_fee);
const refunded = (e: WechatBillEntry) => (isRefund(e) ? (e.refund_fee ?? 0) : 0);
/** The fee charged on a payment, and given back (negative) with a refund; nothing on a revoked payment. */
const fee = (e: WechatBillEntry) =>
  e.kind === 'pay' ? feeOf(e.total_fee) : isRefund(e) ? -feeOf(e.refund_fee ?? 0) : 0;
const dashed = (ms: number | undefined) => (ms === undefined ? '' : toUtc8(ms, 'dashed'));

/** Today's columns (27 for ALL), by name. */
const cells: Readonly<Record<string, Cell>> = {
  交易时间: (e) => dashed(e.time),
  公众账号ID: (e) => e.appid,
  商户号: (e) => e.mch_id,
  特约商户号: (e) => e.sub_mch_id ?? '0',
  设备号: (e) => e.device_info ?? '',
  微信订单号: (e) => e.transaction_id,
  商户订单号: (e) => e.out_trade_no,
  用户标识: () => 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
  交易类型: () => 'MICROPAY',
  交易状态: (e) => (e.kind === 'pay' ? 'SUCCESS' : e.kind === 'revoked' ? 'REVOKED' : 'REFUND'),
  付款银行: () => 'OTHERS',
  货币种类: () => 'CNY',
  应结订单金额: (e) => yuan(paid(e)),
  代金券金额: () => '0.00',
  退款申请时间: (e) => (isRefund(e) ? dashed(e.time) : ''),
  退款成功时间: (e) => (isRefund(e) ? dashed(e.refund_success_time) : ''),
  微信退款单号: (e) => e.refund_id ?? '0',
  商户退款单号: (e) => e.out_refund_no ?? '0',
  退款金额: (e) => yuan(refunded(e)),
  充值券退款金额: () => '0.00',
  退款类型: (e) => (isRefund(e) ? 'ORIGINAL' : ''),
  退款状态: (e) => e.refund_status ?? '',
  商品名称: (e) => e.body ?? '',
  商户数据包: (e) => e.attach ?? '',
  手续费: (e) => feeYuan(fee(e)),
  费率: () => sandboxFeeRate,
  订单金额: (e) => yuan(paid(e)),
  申请退款金额: (e) => yuan(refunded(e)),
  费率备注: () => '',
};

/** The detail columns of each statement type (RECHARGE_REFUND's are REFUND's). */
const columns: Readonly<Record<Exclude<BillType, 'RECHARGE_REFUND'>, readonly string[]>> = {
  ALL: [
    ...['交易时间', '公众账号ID', '商户号', '特约商户号', '设备号', '微信订单号', '商户订单号', '用户标识'],
    ...['交易类型', '交易状态', '付款银行', '货币种类', '应结订单金额', '代金券金额', '微信退款单号'],
    ...['商户退款单号', '退款金额', '充值券退款金额', '退款类型', '退款状态', '商品名称', '商户数据包'],
    ...['手续费', '费率', '订单金额', '申请退款金额', '费率备注'],
  ],
  SUCCESS: [
    ...['交易时间', '公众账号ID', '商户号', '特约商户号', '设备号', '微信订单号', '商户订单号', '用户标识'],
    ...['交易类型', '交易状态', '付款银行', '货币种类', '应结订单金额', '代金券金额', '商品名称'],
    ...['商户数据包', '手续费', '费率', '订单金额', '费率备注'],
  ],
  REFUND: [
    ...['交易时间', '公众账号ID', '商户号', '特约商户号', '设备号', '微信订单号', '商户订单号', '用户标识'],
    ...['交易类型', '交易状态', '付款银行', '货币种类', '应结订单金额', '代金券金额', '退款申请时间'],
    ...['退款成功时间', '微信退款单号', '商户退款单号', '退款金额', '充值券退款金额', '退款类型', '退款状态'],
    ...['商品名称', '商户数据包', '手续费', '费率', '订单金额', '申请退款金额', '费率备注'],
  ],
};

const summaryHeader =
  '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额';

/** Which entries a statement type lists. */
function listed(type: BillType, entry: WechatBillEntry): boolean {
  if (type === 'ALL') return true;
  if (type === 'SUCCESS') return entry.kind !== 'refund';
  return type === 'REFUND' && entry.kind === 'refund';
}

/**
 * The statement of `entries` (one account's day, already chosen) as WeChat writes it: BOM, detail header, the
 * lines in time order, the summary header and line, CRLF line ends.
 */
export function wechatBillText(entries: readonly WechatBillEntry[], type: BillType = 'ALL'): string {
  const names = columns[type === 'RECHARGE_REFUND' ? 'REFUND' : type];
  const lines = [...entries]
    .filter((entry) => type !== 'RECHARGE_REFUND' && listed(type, entry))
    .sort((a, b) => a.time - b.time);
  const sum = (of: (e: WechatBillEntry) => number) => lines.reduce((total, e) => total + of(e), 0);
  const detail = lines.map((e) => names.map((name) => `\`${cells[name]?.(e) ?? ''}`).join(','));
  const totals = [
    String(lines.length),
    yuan(sum(paid)),
    yuan(sum(refunded)),
    '0.00',
    feeYuan(sum(fee)),
    yuan(sum(paid)),
    yuan(sum(refunded)),
  ];
  const text = [names.join(','), ...detail, summaryHeader, totals.map((v) => `\`${v}`).join(',')];
  return `\uFEFF${text.join('\r\n')}\r\n`;
}

/** What the sandbox answers a downloadbill: the statement's bytes, or WeChat's refusal. */
export type DownloadBillAnswer =
  | { readonly kind: 'bill'; readonly body: Buffer; readonly gzip: boolean }
  | { readonly kind: 'fail'; readonly returnMsg: string; readonly errorCode: string };

/**
 * downloadbill for an authenticated request (signature and mch_id already checked) of an account whose bound
 * appids are `appids`, from the sandbox's `ledger`, on `now`'s calendar (UTC+8).
 */
export function downloadBill(
  request: Readonly<Record<string, string>>,
  appids: ReadonlySet<string>,
  ledger: readonly WechatBillEntry[],
  now = Date.now(),
): DownloadBillAnswer {
  const fail = (returnMsg: string, errorCode = '20001'): DownloadBillAnswer => ({
    kind: 'fail',
    returnMsg,
    errorCode,
  });
  if (Object.keys(request).some((name) => !knownParameters.has(name))) return fail('invalid parameter');
  if (!request.appid || !request.bill_date) return fail('missing parameter');
  if (!appids.has(request.appid)) return fail('appid and mch_id not match');
  const date = /^(\d{4})(\d{2})(\d{2})$/.exec(request.bill_date);
  const day = date ? `${date[1]}-${date[2]}-${date[3]}` : '';
  if (!date || fromUtc8(`${day} 00:00:00`, 'dashed') === undefined) return fail('invalid bill_date');
  const type = (request.bill_type || 'ALL') as BillType;
  if (!billTypes.includes(type)) return fail('invalid bill_type');
  if (request.tar_type && request.tar_type !== 'GZIP') return fail('invalid tar_type');
  // The day's statement at once; a day still to come is one WeChat has not made (账单未生成).
  if (day > toUtc8(now, 'dashed').slice(0, 10)) return fail('Bill Creating', '20002');
  const entries = ledger.filter(
    (entry) =>
      entry.mch_id === request.mch_id &&
      (!request.sub_mch_id || entry.sub_mch_id === request.sub_mch_id) &&
      (!request.device_info || entry.device_info === request.device_info) &&
      toUtc8(entry.time, 'dashed').slice(0, 10) === day,
  );
  const text = Buffer.from(wechatBillText(entries, type), 'utf8');
  const gzip = request.tar_type === 'GZIP';
  return { kind: 'bill', body: gzip ? gzipSync(text) : text, gzip };
}

/** Sends `answer`: the statement (text or gzip), or the unsigned `<xml>` refusal. */
export function sendBill(res: ServerResponse, answer: DownloadBillAnswer): void {
  if (answer.kind === 'fail') {
    const xml = toXml({ return_code: 'FAIL', return_msg: answer.returnMsg, error_code: answer.errorCode });
    res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(xml);
    return;
  }
  const type = answer.gzip ? 'application/x-gzip' : 'text/plain; charset=utf-8';
  res.writeHead(200, { 'content-type': type }).end(answer.body);
}
