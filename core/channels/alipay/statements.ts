import type { KeyObject } from 'node:crypto';
import { unzipSync } from 'fflate';
import { type AlipayAnswer, alipayAuthenticity, readAnswer } from '#core/channels/alipay/answers.ts';
import type { AlipayCall } from '#core/channels/alipay/refunds.ts';
import type {
  ChannelContext,
  ChannelStatements,
  StatementFetch,
  StatementRow,
} from '#core/channels/channel.ts';
import { answerVerifier } from '#core/channels/kit/answers.ts';
import type { CallOutcome, ChannelHttp } from '#core/channels/kit/http.ts';
import { StatementError, statementFen } from '#core/channels/kit/statements.ts';
import { fromUtc8 } from '#core/channels/kit/time.ts';

/*
 * Alipay's statement (对账单), as Alipay documents it:
 * - 查询对账单下载地址 alipay.data.dataservice.bill.downloadurl.query
 *   (https://opendocs.alipay.com/apis/api_15/alipay.data.dataservice.bill.downloadurl.query): `bill_type=trade`
 *   (商户基于支付宝交易收单的业务账单), `bill_date` `yyyy-MM-dd`. "不支持下载当日账单，只能下载前一日24点前的账单数据
 *   (T+1)，当日数据一般于次日 9 点前生成，特殊情况可能延迟"; a statement not made (yet) is the business error
 *   `isp.bill_not_exist` (账单不存在; the English edition of the document: `BILL_NOT_EXIST`, "There is no report for
 *   the day"). The answer is signed and verified as every other answer of the client (answers.ts); only its
 *   `bill_download_url` leads to the file: "获取连接后30秒后未下载，链接地址失效", so it is fetched at once (GET).
 * - 对账说明 (https://opendocs.alipay.com/open/204/106262): what the file is, a day's 业务明细 (T+1).
 * The file behind the URL is a zip (`<账号>_<yyyyMMdd>.csv.zip`) of GBK CSV files: `<账号>_<yyyyMMdd>_业务明细.csv`,
 * the detail read here, and `…_业务明细(汇总).csv`, its summary; entry names in GBK without the zip's UTF-8 flag. The
 * detail: `#` lines (#支付宝业务明细查询, #账号：[…], #起始日期：[…] 终止日期：[…], the 业务明细列表 marker), the header,
 * one line per 交易 (a payment) or 退款 (a refund), the 业务明细列表结束 marker, then `#` totals (#交易合计：N笔，…,
 * #退款合计：N笔，…) and #导出时间. Cells are padded (ids end in a tab so spreadsheets keep them as text). A refund's
 * amounts are negative; its 退款批次号/请求号 is our `out_request_no`. The documents show the file only as pictures;
 * this is its layout as Alipay serves it and as real statements are publicly quoted
 * (test/unit/alipay-statements.test.ts constructs its example to that layout). The statement itself is not signed: it rests on the URL Alipay
 * signed, fetched at once.
 */

/** The method that answers the statement's download URL. */
export const alipayBillMethod = 'alipay.data.dataservice.bill.downloadurl.query';

/** Where the statement is documented. */
export const alipayBillSource =
  '查询对账单下载地址 alipay.data.dataservice.bill.downloadurl.query ' +
  '(https://opendocs.alipay.com/apis/api_15/alipay.data.dataservice.bill.downloadurl.query), ' +
  'bill_type=trade: a zip of GBK CSV files (业务明细, 对账说明 https://opendocs.alipay.com/open/204/106262)';

/** Largest statement zip fetched: a busy account's day is tens of MB of CSV, a fraction of that zipped. */
export const maxStatementBytes = 64 * 1024 * 1024;
/** Largest detail file a zip may inflate to. */
const maxInflatedBytes = 512 * 1024 * 1024;

/**
 * The sub_codes of an answer that says the statement is not there (yet): never an empty day, fetched again later.
 * `isp.bill_not_exist` today; `BILL_NOT_EXIST` as the document's English edition names it.
 */
export const billNotPublishedCodes: ReadonlySet<string> = new Set(['isp.bill_not_exist', 'BILL_NOT_EXIST']);

/** The detail's columns this reader uses, by their names in the header (ASCII brackets read as full-width). */
export const billColumns = {
  tradeNo: '支付宝交易号',
  outTradeNo: '商户订单号',
  type: '业务类型',
  completed: '完成时间',
  /** The payment's amount; a refund's, negative. */
  amount: '订单金额（元）',
  /** Our refund number (`out_request_no`); the trade's own number for a refund sent without one. */
  requestNo: '退款批次号/请求号',
  /** Alipay's fee: charged on a 交易 (negative, money out of the merchant's), given back on a 退款 (positive). */
  serviceFee: '服务费（元）',
} as const;

/** How each 业务类型 reads. */
const lineKinds: Readonly<Record<string, 'pay' | 'refund'>> = { 交易: 'pay', 退款: 'refund' };

/** What the download-URL answer came to: the URL from a verified answer, a statement not made yet, or nothing. */
export type BillUrlAnswer =
  | { readonly kind: 'url'; readonly url: string }
  | { readonly kind: 'not_published'; readonly said: string }
  | { readonly kind: 'unknown'; readonly said: string };

/** The detail file read: the account it names (`#账号：[…]`) and its rows. */
export interface AlipayBill {
  readonly account?: string;
  readonly rows: readonly StatementRow[];
}

/** A download-URL answer names no order: only its authenticity is proven. */
const verifyBillAnswer = answerVerifier<
  AlipayAnswer,
  { readonly alipayPublicKey: KeyObject | undefined },
  never
>({ authenticity: alipayAuthenticity, about: () => undefined });

/**
 * Alipay statements through the client's own signed call (`call`, as pay, query and refunds go) and `http` for the
 * file. Account: `app_id` (and `seller_id`, the Alipay account 2088… whose statement it is, checked against the
 * file's `#账号` when given).
 */
export function alipayStatements(
  call: AlipayCall,
  alipayPublicKey: (ctx: ChannelContext) => KeyObject | undefined,
  http: ChannelHttp,
): ChannelStatements {
  return {
    source: alipayBillSource,
    accountOf,
    async fetch(ctx, billDate, deadlineMs) {
      if (!isBillDate(billDate)) return { kind: 'unknown', said: 'BAD_BILL_DATE' };
      const started = Date.now();
      const outcome = await call(ctx, alipayBillMethod, deadlineMs, {
        bill_type: 'trade',
        bill_date: billDate,
      });
      const answer = readBillUrlAnswer(outcome, alipayPublicKey(ctx));
      if (answer.kind !== 'url') return answer;
      // The URL lives 30 seconds: fetched now, within what is left of the deadline.
      const left = deadlineMs - (Date.now() - started);
      if (left <= 0) return { kind: 'unknown', said: 'TIMEOUT' };
      const file = await http.fetchFile(answer.url, {
        deadlineMs: left,
        maxResponseBytes: maxStatementBytes,
      });
      if (file.kind === 'none') return { kind: 'unknown', said: `DOWNLOAD_${file.said}` };
      return fetched(file.bytes, billDate, ctx);
    },
    read: readAlipayStatement,
  };
}

/** The account a statement is Alipay's for: `app_id`, with `/seller_id` when the route names the seller. */
function accountOf(ctx: ChannelContext): string {
  const { app_id: appId = '', seller_id: sellerId } = ctx.account;
  return sellerId ? `${appId}/${sellerId}` : appId;
}

/** `YYYY-MM-DD` that is a real date. */
function isBillDate(billDate: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(billDate) && fromUtc8(`${billDate} 00:00:00`, 'dashed') !== undefined;
}

/**
 * Reads Alipay's answer to `alipay.data.dataservice.bill.downloadurl.query`. Only an answer whose signature
 * verifies (RSA2, Alipay's public key, over the node as sent) says anything: a `10000` with a `bill_download_url`
 * (http or https) is the URL; a `40004` whose sub_code is in `billNotPublishedCodes` is a statement not made yet.
 * Anything else is unknown, with Alipay's sub_code (or code) as said.
 */
export function readBillUrlAnswer(
  outcome: CallOutcome,
  alipayPublicKey: KeyObject | undefined,
): BillUrlAnswer {
  const got = readAnswer(outcome, alipayBillMethod);
  if (got.kind !== 'node') return got;
  const { fields } = got.answer;
  const code = typeof fields.code === 'string' ? fields.code : undefined;
  if (code === undefined) return { kind: 'unknown', said: 'MALFORMED' };
  const checked = verifyBillAnswer(got.answer, { alipayPublicKey });
  if (!checked.ok) return { kind: 'unknown', said: checked.reason };
  const subCode = typeof fields.sub_code === 'string' ? fields.sub_code : undefined;
  if (code === '10000') {
    const url = fields.bill_download_url;
    return typeof url === 'string' && /^https?:\/\/[^\s]+$/.test(url)
      ? { kind: 'url', url }
      : { kind: 'unknown', said: 'NO_BILL_DOWNLOAD_URL' };
  }
  const said = subCode ?? code;
  return subCode !== undefined && billNotPublishedCodes.has(subCode)
    ? { kind: 'not_published', said }
    : { kind: 'unknown', said };
}

/** What a fetched zip came to, for this account. */
function fetched(raw: Buffer, billDate: string, ctx: ChannelContext): StatementFetch {
  let bill: AlipayBill;
  try {
    bill = readAlipayBill(raw, billDate);
  } catch (error) {
    return { kind: 'unknown', said: `MALFORMED:${error instanceof Error ? error.message : ''}` };
  }
  // Only the seller's own statement may be kept as its: `#账号` is its user id (2088…) and a four-digit suffix.
  const sellerId = ctx.account.seller_id;
  if (
    sellerId &&
    bill.account !== undefined &&
    bill.account.replace(/^(2088\d{12})\d{4}$/, '$1') !== sellerId
  ) {
    return { kind: 'unknown', said: `NOT_THIS_ACCOUNT:${bill.account}` };
  }
  return { kind: 'published', raw, rows: bill.rows };
}

/** Reads a kept statement zip again: its rows (a file that is not Alipay's statement throws a StatementError). */
export function readAlipayStatement(raw: Buffer, billDate: string): readonly StatementRow[] {
  return readAlipayBill(raw, billDate).rows;
}

/** Reads a statement zip as fetched: its one 业务明细 file (not the 汇总), decoded, as an AlipayBill. */
export function readAlipayBill(raw: Buffer, billDate: string): AlipayBill {
  return readBillDetail(decodeBill(detailFileOf(raw)), billDate);
}

/** The zip's detail file: the one entry named …业务明细….csv that is not the 汇总. */
function detailFileOf(raw: Buffer): Uint8Array {
  if (raw.length < 4 || raw.readUInt32LE(0) !== 0x04034b50) throw new StatementError('not a zip');
  const chosen: string[] = [];
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(raw, {
      filter: (file) => {
        const name = entryName(file.name);
        if (!/业务明细/.test(name) || /汇总/.test(name) || !/\.csv$/i.test(name)) return false;
        if (file.originalSize > maxInflatedBytes) {
          throw new StatementError(`${name} inflates to ${file.originalSize} bytes`);
        }
        chosen.push(file.name);
        return true;
      },
    });
  } catch (error) {
    if (error instanceof StatementError) throw error;
    throw new StatementError(`zip: ${error instanceof Error ? error.message : 'unreadable'}`);
  }
  const [name, ...others] = chosen;
  if (name === undefined || others.length > 0) {
    throw new StatementError(
      name === undefined ? 'no 业务明细 file in the zip' : 'more than one 业务明细 file',
    );
  }
  return files[name] as Uint8Array;
}

/**
 * A zip entry's name as fflate hands it over: without the UTF-8 flag (Alipay's GBK names) each byte became one
 * character, which are read back as GBK; a name with characters past U+00FF was UTF-8 and is already text.
 */
function entryName(name: string): string {
  const codes = [...name].map((c) => c.codePointAt(0) ?? 0);
  if (codes.some((code) => code > 0xff) || !codes.some((code) => code >= 0x80)) return name;
  return new TextDecoder('gbk').decode(Buffer.from(name, 'latin1'));
}

/** The detail file's text: GBK (Node's own decoder, full ICU), or UTF-8 where a byte-order mark says so. */
function decodeBill(bytes: Uint8Array): string {
  const utf8 = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  try {
    return new TextDecoder(utf8 ? 'utf-8' : 'gbk', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new StatementError(`not ${utf8 ? 'UTF-8' : 'GBK'} text`);
  }
}

/** One detail line, read. */
interface Line {
  readonly kind: 'pay' | 'refund';
  readonly tradeNo: string;
  readonly outTradeNo: string;
  readonly requestNo: string;
  /** Fen, positive: paid, or refunded. */
  readonly fee: number;
  readonly time?: string;
  /** Fen the merchant paid Alipay on this line (negative: given back), where the line states it. */
  readonly serviceFee?: number;
}

/**
 * Reads the detail's text: the `#` lines around the rows, the header by name, one row per 交易 or 退款. Throws a
 * StatementError for a file that is not one: no 业务明细列表 marker or no end marker (a cut file), a line outside
 * them, a line whose cells do not fit the header, an unknown 业务类型, an amount that is not whole fen, a time that
 * is not one, 起始日期 of another day, or a 交易合计 / 退款合计 count that is not the number of its lines.
 *
 * A 退款 under the trade's own number (退款批次号/请求号 empty, or the 商户订单号 itself) that gives back a 交易 of the
 * same file in full is how a paid trade Alipay cancelled (alipay.trade.cancel: "如果用户支付成功，支付宝系统会将此订单资金
 * 退还给用户") is listed: one row, the payment `reversed` (as WeChat's REVOKED). Our refunds are sent under their own
 * refund_id, never the order's number, so none of ours is read this way. Such a 退款 without its 交易 in the file
 * (paid the day before) stays a refund under the trade's own number.
 */
export function readBillDetail(text: string, billDate: string): AlipayBill {
  const lines = text.split(/\r?\n/);
  const marker = (test: (line: string) => boolean) => lines.findIndex((l) => l.startsWith('#') && test(l));
  const startAt = marker((l) => l.includes('业务明细列表') && !l.includes('结束'));
  const endAt = marker((l) => l.includes('业务明细列表结束'));
  if (startAt < 0 || endAt < startAt) throw new StatementError('no 业务明细列表 markers, or no end marker');
  const strays = lines.filter((l, i) => (i < startAt || i > endAt) && l.trim() !== '' && !l.startsWith('#'));
  if (strays.length > 0)
    throw new StatementError(`a line outside the 业务明细列表: ${strays[0]?.slice(0, 40)}`);
  const comments = lines.filter((l) => l.startsWith('#'));
  const from = comments.map((l) => /起始日期[：:]\s*\[(\d{4})年(\d{2})月(\d{2})日/.exec(l)).find(Boolean);
  if (from && `${from[1]}-${from[2]}-${from[3]}` !== billDate) {
    throw new StatementError(`起始日期 ${from[1]}-${from[2]}-${from[3]}, not ${billDate}`);
  }
  const account = comments.map((l) => /^#账号[：:]\s*\[([^\]]*)\]/.exec(l)?.[1]).find(Boolean);
  const body = lines.slice(startAt + 1, endAt).filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const [headerLine, ...rowLines] = body;
  if (headerLine === undefined) throw new StatementError('no header');
  const header = cellsOf(headerLine).map((name) => name.replaceAll('(', '（').replaceAll(')', '）'));
  const column = columnsOf(header);
  const read = rowLines.map((line) => {
    const cells = cellsOf(line);
    if (cells.length !== header.length) {
      throw new StatementError(`a line of ${cells.length} cells under a header of ${header.length}`);
    }
    return readLine((name) => {
      const at = column(name);
      return at === undefined ? undefined : cells[at];
    });
  });
  checkTotals(comments, read);
  return { ...(account ? { account } : {}), rows: rowsOf(read, billDate) };
}

/** The index of each column by name; the columns every statement has must be there. */
function columnsOf(header: readonly string[]): (name: string) => number | undefined {
  const at = new Map<string, number>();
  header.forEach((name, i) => {
    if (!at.has(name)) at.set(name, i);
  });
  const { serviceFee: _optional, ...required } = billColumns;
  const missing = Object.values(required).filter((name) => !at.has(name));
  if (missing.length > 0) throw new StatementError(`no column ${missing.join(', ')}`);
  return (name) => at.get(name);
}

/**
 * One CSV line's cells, each trimmed of the tabs and spaces Alipay pads them with. A cell in double quotes (a comma
 * in a product name, as a CSV writer quotes it) is read as one, `""` as a quote.
 */
function cellsOf(line: string): string[] {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    const start = line.slice(i).search(/[^ \t]|$/) + i;
    if (line[start] === '"') {
      let cell = '';
      let j = start + 1;
      for (;;) {
        const quote = line.indexOf('"', j);
        if (quote < 0) throw new StatementError('a quoted cell without its closing quote');
        cell += line.slice(j, quote);
        if (line[quote + 1] !== '"') {
          j = quote + 1;
          break;
        }
        cell += '"';
        j = quote + 2;
      }
      const comma = line.indexOf(',', j);
      const rest = comma < 0 ? line.slice(j) : line.slice(j, comma);
      if (rest.trim() !== '') throw new StatementError('text after a quoted cell');
      cells.push(cell.trim());
      if (comma < 0) return cells;
      i = comma + 1;
    } else {
      const comma = line.indexOf(',', i);
      cells.push((comma < 0 ? line.slice(i) : line.slice(i, comma)).trim());
      if (comma < 0) return cells;
      i = comma + 1;
    }
  }
}

/** One detail line as a Line. */
function readLine(get: (name: string) => string | undefined): Line {
  const tradeNo = get(billColumns.tradeNo) ?? '';
  // A trade Alipay took without our number (its own QR code, say) is named by its trade number.
  const outTradeNo = get(billColumns.outTradeNo) || tradeNo;
  const word = get(billColumns.type) ?? '';
  const kind = lineKinds[word];
  if (!kind) throw new StatementError(`业务类型 ${word} of ${outTradeNo}`);
  if (!outTradeNo) throw new StatementError('a line without 商户订单号 or 支付宝交易号');
  const amount = statementFen(get(billColumns.amount) ?? '', true);
  if (amount === undefined || (kind === 'pay' && amount < 0)) {
    throw new StatementError(`${billColumns.amount} ${String(get(billColumns.amount))} of ${outTradeNo}`);
  }
  const feeText = get(billColumns.serviceFee) ?? '';
  const fee = feeText === '' ? undefined : statementFen(feeText, true);
  if (feeText !== '' && fee === undefined) {
    throw new StatementError(`${billColumns.serviceFee} ${feeText} of ${outTradeNo}`);
  }
  return {
    kind,
    tradeNo,
    outTradeNo,
    requestNo: get(billColumns.requestNo) ?? '',
    // A refund's amount is written negative: the row holds what was refunded.
    fee: Math.abs(amount),
    ...optional('time', timeOf(get(billColumns.completed) ?? '', outTradeNo)),
    // Alipay writes the fee as money out of the merchant's (negative when charged); the row holds what was charged.
    ...optional('serviceFee', fee === undefined ? undefined : fee === 0 ? 0 : -fee),
  };
}

/** `#交易合计：N笔…` and `#退款合计：N笔…`, where the file has them, must count its lines of each kind. */
function checkTotals(comments: readonly string[], lines: readonly Line[]): void {
  const totals: readonly [string, Line['kind']][] = [
    ['交易合计', 'pay'],
    ['退款合计', 'refund'],
  ];
  for (const [label, kind] of totals) {
    const stated = comments.map((l) => new RegExp(`^#${label}[：:]\\s*(\\d+)笔`).exec(l)?.[1]).find(Boolean);
    const count = lines.filter((l) => l.kind === kind).length;
    if (stated !== undefined && Number(stated) !== count) {
      throw new StatementError(`${label} ${stated}笔 but ${count} lines`);
    }
  }
}

/** The lines as statement rows: a 交易 given back in full under its own number the same day is one reversed row. */
function rowsOf(lines: readonly Line[], billDate: string): StatementRow[] {
  const ownNumber = (l: Line) => l.kind === 'refund' && (l.requestNo === '' || l.requestNo === l.outTradeNo);
  const reversedBy = new Map<Line, Line>();
  const folded = new Set<Line>();
  for (const refund of lines.filter(ownNumber)) {
    const pay = lines.find(
      (l) =>
        l.kind === 'pay' &&
        !reversedBy.has(l) &&
        l.outTradeNo === refund.outTradeNo &&
        l.tradeNo === refund.tradeNo &&
        l.fee === refund.fee,
    );
    if (pay) {
      reversedBy.set(pay, refund);
      folded.add(refund);
    }
  }
  return lines
    .filter((line) => !folded.has(line))
    .map((line) => {
      const common = {
        bill_date: billDate,
        out_trade_no: line.outTradeNo,
        ...optional('channel_trade_no', line.tradeNo),
        fee: line.fee,
        ...optional('time', line.time),
      };
      const reversal = reversedBy.get(line);
      if (line.kind === 'pay') {
        const serviceFee =
          reversal && line.serviceFee !== undefined
            ? line.serviceFee + (reversal.serviceFee ?? 0)
            : line.serviceFee;
        return reversal
          ? {
              ...common,
              kind: 'pay',
              state: 'reversed',
              channel_state: '交易+退款',
              ...optional('service_fee', serviceFee),
            }
          : {
              ...common,
              kind: 'pay',
              state: 'paid',
              channel_state: '交易',
              ...optional('service_fee', serviceFee),
            };
      }
      return {
        ...common,
        kind: 'refund',
        out_refund_no: line.requestNo || line.outTradeNo,
        state: 'refunded',
        channel_state: '退款',
        ...optional('service_fee', line.serviceFee),
      };
    });
}

/** `{ name: value }` when there is a value; nothing otherwise (the row's optional fields stay absent). */
function optional<K extends string, V>(name: K, value: V | undefined | ''): { [P in K]?: V } {
  return value === undefined || value === '' ? {} : ({ [name]: value } as { [P in K]?: V });
}

/** 完成时间 (UTC+8, `yyyy-MM-dd HH:mm:ss`) → ISO UTC; undefined when the cell is empty. */
function timeOf(text: string, outTradeNo: string): string | undefined {
  if (text === '') return undefined;
  const seconds = fromUtc8(text, 'dashed');
  if (seconds === undefined) throw new StatementError(`完成时间 ${text} of ${outTradeNo}`);
  return new Date(seconds * 1000).toISOString();
}
