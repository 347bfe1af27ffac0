import { randomBytes } from 'node:crypto';
import { zipSync } from 'fflate';
import iconv from 'iconv-lite';
import { fromUtc8, toUtc8 } from '#core/channels/kit/time.ts';
import { fenToYuan, yuanToFen } from '#core/money.ts';
import type { SandboxAlipayRefund } from './alipay-refunds.ts';

/*
 * The Alipay sandbox's statement (对账单), in Alipay's format (core/channels/alipay/statements.ts names the documents):
 * `alipay.data.dataservice.bill.downloadurl.query` (bill_type=trade, bill_date yyyy-MM-dd) answers a
 * `bill_download_url` that lives 30 seconds; a GET of it serves a zip (`<账号>_<yyyyMMdd>.csv.zip`) of two GBK CSV
 * files, `<账号>_<yyyyMMdd>_业务明细.csv` and `…_业务明细(汇总).csv`, their names GBK without the zip's UTF-8 flag.
 * The detail is made from the sandbox's own ledger (`alipayLedger`), so trades paid, cancelled and refunded with any
 * client (alipay-sdk, the gateway) are in it: one 交易 line per trade paid (at its payment time), one 退款 line per
 * refund made (at its time, 退款批次号/请求号 its out_request_no), and a paid trade a cancel gave back ("如果用户支付成功，
 * 支付宝系统会将此订单资金退还给用户") as a 退款 of the whole trade under the trade's own number, as Alipay numbers a refund
 * sent without out_request_no ("如果在退款请求时未传入，则该值为创建交易时的外部交易号"). Trades never paid are not listed.
 * A day's statement exists once the day is over (UTC+8): today or a day to come is `isp.bill_not_exist`, unless the
 * sandbox publishes at once (`statementsAtOnce`, as the local stack runs it: SPEC section 9). Cells are padded as
 * Alipay pads them (ids and a few others end in a tab); a free-text cell holding a comma, quote or line break is
 * quoted as a CSV writer quotes it (what Alipay does with such text is not documented).
 */

/** Where the sandbox serves statement files, as Alipay's bill centre names its download. */
export const alipayBillPath = '/downloadBillFile.resource';

/** How long a download URL works: "获取连接后30秒后未下载，链接地址失效". */
export const billUrlLifetimeMs = 30_000;

/** The buyer the sandbox's statements name (对方账户), masked as Alipay masks it. */
const counterparty = '**沙箱(159****5620)';

/** One line of the sandbox's ledger: a payment, or money given back (a refund, or a cancel of a paid trade). */
export interface AlipayBillEntry {
  readonly kind: 'pay' | 'refund';
  /** The seller (2088…) whose statement lists it. */
  readonly sellerId: string;
  readonly tradeNo: string;
  readonly outTradeNo: string;
  readonly subject: string;
  readonly body?: string;
  readonly storeId?: string;
  readonly operatorId?: string;
  readonly terminalId?: string;
  /** When the trade was created (epoch ms): 创建时间. */
  readonly createdAt: number;
  /** When the payment or refund completed (epoch ms): 完成时间, and the day it is listed on. */
  readonly completedAt: number;
  /** Fen paid, or given back. */
  readonly fee: number;
  /** A refund's 退款批次号/请求号. */
  readonly requestNo?: string;
}

/** A trade as the Alipay sandbox keeps it (its trades fit this shape). */
export interface BillableTrade {
  readonly outTradeNo: string;
  /** Absent for a number only closed by a cancel: Alipay never had that trade. */
  readonly tradeNo?: string;
  /** Yuan as the merchant wrote it. */
  readonly totalAmount: string;
  /** The pay request's business parameters (subject, body, store_id, operator_id, terminal_id). */
  readonly biz: Readonly<Record<string, unknown>>;
  readonly sellerId: string;
  readonly createdAt: number;
  readonly paidAt?: number;
  /** When a cancel gave the paid trade's money back (epoch ms). */
  readonly cancelRefundedAt?: number;
}

const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);

/**
 * The ledger of the sandbox's trades: each trade paid, each refund made, and the money a cancel gave back (what the
 * trade's refunds had not already).
 */
export function alipayLedger(
  trades: Iterable<BillableTrade>,
  refundsOf: (outTradeNo: string) => readonly SandboxAlipayRefund[],
): AlipayBillEntry[] {
  const entries: AlipayBillEntry[] = [];
  for (const trade of trades) {
    if (trade.paidAt === undefined || !trade.tradeNo) continue;
    const total = yuanToFen(trade.totalAmount) ?? 0;
    const base = {
      sellerId: trade.sellerId,
      tradeNo: trade.tradeNo,
      outTradeNo: trade.outTradeNo,
      subject: text(trade.biz.subject) ?? '',
      body: text(trade.biz.body),
      storeId: text(trade.biz.store_id),
      operatorId: text(trade.biz.operator_id),
      terminalId: text(trade.biz.terminal_id),
      createdAt: trade.createdAt,
    };
    entries.push({ ...base, kind: 'pay', completedAt: trade.paidAt, fee: total });
    let refunded = 0;
    for (const refund of refundsOf(trade.outTradeNo)) {
      if (refund.state !== 'SUCCESS' || refund.refundedAt === undefined) continue;
      refunded += refund.fee;
      entries.push({
        ...base,
        kind: 'refund',
        completedAt: refund.refundedAt,
        fee: refund.fee,
        requestNo: refund.outRequestNo,
      });
    }
    if (trade.cancelRefundedAt !== undefined && total > refunded) {
      const given = { completedAt: trade.cancelRefundedAt, fee: total - refunded };
      entries.push({ ...base, kind: 'refund', ...given, requestNo: trade.outTradeNo });
    }
  }
  return entries;
}

/** The fee the sandbox charges: 0.60% of the amount, rounded to the fen, by integer arithmetic. */
function serviceFeeOf(fen: number): number {
  return Math.floor((fen * 6 + 500) / 1000);
}

/** Fen as the statement writes yuan, a minus sign when negative. */
function yuan(fen: number): string {
  return fen < 0 ? `-${fenToYuan(-fen)}` : fenToYuan(fen);
}

/** A free-text cell: quoted when it holds a comma, a quote or a line break. */
function free(value: string | undefined): string {
  const cell = value ?? '';
  return /[",\r\n]/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell;
}

/** An id cell as Alipay pads it: a tab after it, so spreadsheets keep it as text. */
const padded = (value: string | undefined) => `${value ?? ''}\t`;

/** `yyyy年MM月dd日 HH:mm:ss` (UTC+8), as the `#` lines write times. */
function chineseTime(ms: number): string {
  const t = toUtc8(ms, 'dashed');
  return `${t.slice(0, 4)}年${t.slice(5, 7)}月${t.slice(8, 10)}日 ${t.slice(11)}`;
}

/** The detail's columns, each with what it holds for an entry. */
const detailColumns: readonly [string, (e: AlipayBillEntry) => string][] = [
  ['支付宝交易号', (e) => padded(e.tradeNo)],
  ['商户订单号', (e) => padded(e.outTradeNo)],
  ['业务类型', (e) => padded(e.kind === 'pay' ? '交易' : '退款')],
  ['商品名称', (e) => free(e.subject)],
  ['创建时间', (e) => toUtc8(e.createdAt, 'dashed')],
  ['完成时间', (e) => toUtc8(e.completedAt, 'dashed')],
  ['门店编号', (e) => padded(e.storeId)],
  ['门店名称', (e) => padded(free(e.storeId))],
  ['操作员', (e) => padded(e.operatorId)],
  ['终端号', (e) => padded(e.terminalId)],
  ['对方账户', () => padded(counterparty)],
  ['订单金额（元）', (e) => yuan(signed(e))],
  ['商家实收（元）', (e) => yuan(signed(e))],
  ['支付宝红包（元）', () => '0.00'],
  ['集分宝（元）', () => '0.00'],
  ['支付宝优惠（元）', () => '0.00'],
  ['商家优惠（元）', () => '0.00'],
  ['券核销金额（元）', () => '0.00'],
  ['券名称', () => ''],
  ['商家红包消费金额（元）', () => padded('0.00')],
  ['卡消费金额（元）', () => '0.00'],
  ['退款批次号/请求号', (e) => padded(e.requestNo)],
  // Money out of the merchant's: the fee charged on a payment, given back with a refund.
  ['服务费（元）', (e) => yuan(-signed({ ...e, fee: serviceFeeOf(e.fee) }))],
  ['分润（元）', () => '0.00'],
  ['备注', (e) => free(e.body)],
];

/** An entry's amount as the merchant's money: paid in, or given back (negative). */
function signed(e: Pick<AlipayBillEntry, 'kind' | 'fee'>): number {
  return e.kind === 'pay' ? e.fee : -e.fee;
}

const rule = '-----------------------------------------';

/** The `#` lines that open a file of `account`'s `day`. */
function opening(title: string, list: string, account: string, day: string): string[] {
  const start = fromUtc8(`${day} 00:00:00`, 'dashed') ?? 0;
  return [
    `#${title}`,
    `#账号：[${account}]`,
    `#起始日期：[${chineseTime(start * 1000)}]   终止日期：[${chineseTime((start + 86_400) * 1000)}]`,
    `#${rule}${list}${rule.slice(0, -1)}`,
  ];
}

/** What a statement file is written for: the account (`#账号`), its day, and when it was exported. */
export interface BillFileOptions {
  /** The seller's user id and Alipay's four-digit suffix, as `#账号` writes it. */
  readonly account: string;
  /** `YYYY-MM-DD`. */
  readonly day: string;
  readonly exportedAt: number;
}

/**
 * The 业务明细 of `entries` (one seller's day, already chosen) as Alipay writes it: the `#` lines, the header, the
 * lines in time order, the end marker and the totals, CRLF line ends.
 */
export function alipayBillDetail(entries: readonly AlipayBillEntry[], options: BillFileOptions): string {
  const lines = [...entries].sort((a, b) => a.completedAt - b.completedAt);
  const of = (kind: AlipayBillEntry['kind']) => lines.filter((e) => e.kind === kind);
  const received = (list: readonly AlipayBillEntry[]) => yuan(list.reduce((sum, e) => sum + signed(e), 0));
  return `${[
    ...opening('支付宝业务明细查询', '业务明细列表', options.account, options.day),
    detailColumns.map(([name]) => name).join(','),
    ...lines.map((e) => detailColumns.map(([, cell]) => cell(e)).join(',')),
    `#${rule}业务明细列表结束${rule.slice(0, -5)}`,
    `#交易合计：${of('pay').length}笔，商家实收共${received(of('pay'))}元，商家优惠共0.00元`,
    `#退款合计：${of('refund').length}笔，商家实收退款共${received(of('refund'))}元，商家优惠退款共0.00元`,
    `#导出时间：[${chineseTime(options.exportedAt)}]`,
  ].join('\r\n')}\r\n`;
}

/** The 业务明细(汇总): the day's totals, one line for the sandbox's one store and the 合计. No reader reads it. */
export function alipayBillSummary(entries: readonly AlipayBillEntry[], options: BillFileOptions): string {
  const pays = entries.filter((e) => e.kind === 'pay');
  const refunds = entries.filter((e) => e.kind === 'refund');
  const amount = yuan(entries.reduce((sum, e) => sum + signed(e), 0));
  const fee = entries.reduce((sum, e) => sum - signed({ ...e, fee: serviceFeeOf(e.fee) }), 0);
  const net = yuan(entries.reduce((sum, e) => sum + signed(e), 0) + fee);
  const totals = [String(pays.length), String(refunds.length), amount, amount, '0.00', '0.00', '0.00'];
  return `${[
    ...opening('支付宝业务汇总查询', '业务汇总列表', options.account, options.day),
    '门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）',
    ['', '', ...totals, yuan(fee), '0.00', net].join(','),
    ['合计', '', ...totals, yuan(fee), '0.00', net].join(','),
    `#${rule}业务汇总列表结束${rule.slice(0, -5)}`,
    `#导出时间：[${chineseTime(options.exportedAt)}]`,
  ].join('\r\n')}\r\n`;
}

/** The statement zip of `entries`: the detail and its summary, GBK, under GBK names, as Alipay serves it. */
export function alipayBillZip(entries: readonly AlipayBillEntry[], options: BillFileOptions): Buffer {
  const stem = `${options.account}_${options.day.replaceAll('-', '')}`;
  return gbkZip([
    { name: `${stem}_业务明细.csv`, data: iconv.encode(alipayBillDetail(entries, options), 'gbk') },
    { name: `${stem}_业务明细(汇总).csv`, data: iconv.encode(alipayBillSummary(entries, options), 'gbk') },
  ]);
}

/**
 * A zip whose entry names are GBK bytes without the UTF-8 flag, as Alipay's are. fflate writes names as UTF-8 (and
 * flags them), so the entries are zipped under ASCII stand-ins of the same byte length, which are then overwritten
 * with the GBK bytes in each local header and central directory entry (names are outside every checksum).
 */
export function gbkZip(files: readonly { readonly name: string; readonly data: Uint8Array }[]): Buffer {
  const names = files.map((file) => iconv.encode(file.name, 'gbk'));
  const standIns = names.map((name, i) => `${i}~`.padEnd(name.length, '~'));
  const zip = Buffer.from(
    zipSync(Object.fromEntries(files.map((file, i) => [standIns[i] as string, file.data])), { level: 6 }),
  );
  /** Puts the GBK bytes in place of the stand-in name at `start`. */
  const rename = (start: number, length: number) => {
    const i = standIns.indexOf(zip.toString('latin1', start, start + length));
    if (i >= 0) (names[i] as Buffer).copy(zip, start);
  };
  let at = 0;
  // The local file headers, each followed by its data; then the central directory.
  while (zip.readUInt32LE(at) === 0x04034b50) {
    const length = zip.readUInt16LE(at + 26);
    rename(at + 30, length);
    at += 30 + length + zip.readUInt16LE(at + 28) + zip.readUInt32LE(at + 18);
  }
  while (zip.readUInt32LE(at) === 0x02014b50) {
    const length = zip.readUInt16LE(at + 28);
    rename(at + 46, length);
    at += 46 + length + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return zip;
}

/** What a downloadurl.query comes to: a URL for a day's statement, or Alipay's refusal. */
export type BillUrlQuery =
  | { readonly kind: 'url'; readonly day: string }
  | { readonly kind: 'refused'; readonly subCode: string; readonly subMsg: string };

/**
 * `alipay.data.dataservice.bill.downloadurl.query`'s business parameters read as Alipay reads them, on `now`'s
 * calendar (UTC+8). Only daily `trade` statements are kept; a day not over yet (today, unless `atOnce`) or to come
 * is `isp.bill_not_exist`. Parameters it cannot use are the document's INVAILID_ARGUMENTS (Alipay's spelling).
 */
export function billUrlQuery(
  biz: Readonly<Record<string, unknown>>,
  now: number,
  atOnce: boolean,
): BillUrlQuery {
  const invalid = (subMsg: string): BillUrlQuery => ({
    kind: 'refused',
    subCode: 'INVAILID_ARGUMENTS',
    subMsg,
  });
  const billType = text(biz.bill_type);
  const billDate = text(biz.bill_date) ?? '';
  if (!billType) return invalid('参数无效: 缺少bill_type');
  if (billType !== 'trade') return invalid('参数无效: 沙箱只提供trade账单');
  if (/^\d{4}-\d{2}$/.test(billDate)) return invalid('参数无效: 沙箱只提供日账单');
  if (!/^\d{4}-\d{2}-\d{2}$/.test(billDate) || fromUtc8(`${billDate} 00:00:00`, 'dashed') === undefined) {
    return invalid('参数无效: bill_date格式为yyyy-MM-dd');
  }
  const today = toUtc8(now, 'dashed').slice(0, 10);
  if (billDate > today || (billDate === today && !atOnce)) {
    return { kind: 'refused', subCode: 'isp.bill_not_exist', subMsg: '账单不存在' };
  }
  return { kind: 'url', day: billDate };
}

/** A download URL handed out: whose statement of which day, until when. */
interface Grant {
  readonly sellerId: string;
  readonly day: string;
  readonly expiresAt: number;
}

/**
 * The sandbox's bill centre: hands out download URLs (a token each, good for `billUrlLifetimeMs`) and serves the zip
 * behind them from the ledger as it is when fetched.
 */
export class AlipayBillDesk {
  private readonly grants = new Map<string, Grant>();

  /** A URL under `origin` for `sellerId`'s statement of `day`. */
  urlFor(origin: string, sellerId: string, day: string, now = Date.now()): string {
    for (const [token, grant] of this.grants) if (grant.expiresAt < now) this.grants.delete(token);
    const token = randomBytes(16).toString('hex');
    this.grants.set(token, { sellerId, day, expiresAt: now + billUrlLifetimeMs });
    const account = accountOf(sellerId);
    const dates = day.replaceAll('-', '');
    const query = new URLSearchParams({
      bizType: 'trade',
      userId: account,
      fileType: 'csv.zip',
      bizDates: dates,
      downloadFileName: `${account}_${dates}.csv.zip`,
      fileId: `/trade/${account}/${dates}.csv.zip`,
      timestamp: String(Math.floor(now / 1000)),
      token,
    });
    return `${origin}${alipayBillPath}?${query}`;
  }

  /** The zip a URL names, while it is good; undefined for an unknown or expired one. */
  download(
    search: URLSearchParams,
    ledger: readonly AlipayBillEntry[],
    now = Date.now(),
  ): Buffer | undefined {
    const grant = this.grants.get(search.get('token') ?? '');
    if (!grant || grant.expiresAt < now) return undefined;
    const entries = ledger.filter(
      (e) => e.sellerId === grant.sellerId && toUtc8(e.completedAt, 'dashed').slice(0, 10) === grant.day,
    );
    return alipayBillZip(entries, { account: accountOf(grant.sellerId), day: grant.day, exportedAt: now });
  }
}

/** `#账号` of a seller: its user id and the four digits Alipay adds. */
function accountOf(sellerId: string): string {
  return `${sellerId}0156`;
}
