import { gunzipSync } from 'node:zlib';
import type {
  ChannelContext,
  ChannelStatements,
  StatementFetch,
  StatementRow,
} from '#core/channels/channel.ts';
import type { ChannelHttp } from '#core/channels/kit/http.ts';
import { StatementError, statementFen } from '#core/channels/kit/statements.ts';
import { fromUtc8 } from '#core/channels/kit/time.ts';
import { fromXml, toXml } from '#core/channels/wechat/wire.ts';
import { nonce } from '#core/ids.ts';
import { parseSignType, sign } from '#core/signing.ts';

/*
 * WeChat Pay v2's statement (对账单): `pay/downloadbill`, as 下载交易账单 documents it
 * (https://pay.weixin.qq.com/wiki/doc/api/micropay.php?chapter=9_6, the same page under jsapi.php, native.php…).
 * The answer is not XML but the statement's text: a detail header, one line per payment, refund or revoked payment
 * with every field prefixed by a backtick (`` ` ``), then the summary header (总交易单数,…) and its line; UTF-8, a
 * byte-order mark in front as WeChat sends it, gzip with `tar_type=GZIP`. A request WeChat refuses is answered with
 * a flat `<xml>` of `return_code=FAIL`, `return_msg` and `error_code` (`No Bill Exist`, 20002: no statement for the
 * day, or not yet). Columns differ between account types and have grown over the years (the 24 columns of the
 * document's example; the 27 of today's, which split 应结订单金额 from 订单金额, 退款金额 from 申请退款金额, and add
 * 费率备注), so the header is read by name.
 */

/** Where the statement is fetched, relative to the channel's base URL. */
export const wechatBillPath = '/pay/downloadbill';

/** Where the statement's format is documented. */
export const wechatBillSource =
  'WeChat Pay v2 下载交易账单 pay/downloadbill: https://pay.weixin.qq.com/wiki/doc/api/micropay.php?chapter=9_6';

/** Largest statement fetched: a busy account's day is tens of MB of text, a fraction of that gzipped. */
export const maxStatementBytes = 64 * 1024 * 1024;
/** Largest statement a gzip answer may inflate to. */
const maxInflatedBytes = 512 * 1024 * 1024;

/** The statement's columns this reader uses, by their names in the header. */
export const billColumns = {
  time: '交易时间',
  mchId: '商户号',
  /** 子商户号 in older statements, 特约商户号 in today's. */
  subMchId: ['特约商户号', '子商户号'],
  transactionId: '微信订单号',
  outTradeNo: '商户订单号',
  tradeState: '交易状态',
  /** The payment's amount: 订单金额 (today's), 总金额 (the document's example), else 应结订单金额. */
  payAmount: ['订单金额', '总金额', '应结订单金额'],
  refundId: '微信退款单号',
  outRefundNo: '商户退款单号',
  /** What was refunded; 申请退款金额 is what was asked. */
  refundAmount: '退款金额',
  refundStatus: '退款状态',
  serviceFee: '手续费',
  /** The first column of the summary header. */
  summaryCount: '总交易单数',
} as const;

/** How a refund row's 退款状态 reads. */
const refundStates: Readonly<Record<string, string>> = {
  SUCCESS: 'refunded',
  PROCESSING: 'refund_processing',
  FAIL: 'refund_failed',
  REFUNDCLOSE: 'refund_failed',
  CHANGE: 'refund_abnormal',
};

/** What a statement answer holds: the statement's rows and the merchants they name, or WeChat's refusal. */
export type BillAnswer =
  | {
      readonly kind: 'statement';
      readonly rows: readonly StatementRow[];
      /** Every 商户号 and 特约商户号/子商户号 the rows name. */
      readonly mchIds: ReadonlySet<string>;
      readonly subMchIds: ReadonlySet<string>;
    }
  | { readonly kind: 'refused'; readonly returnMsg: string; readonly errorCode?: string };

/**
 * WeChat Pay v2 statements for the channel at `baseUrl`. Account: the one every call uses (`appid`, `mch_id`,
 * `sub_mch_id` in service-provider mode, `sign_type`); credentials: `api_key`. The request is signed as the other
 * calls are; the statement itself is not signed by WeChat and rests on TLS to the configured host.
 */
export function wechatStatements(baseUrl: string, http: ChannelHttp): ChannelStatements {
  return {
    source: wechatBillSource,
    accountOf,
    async fetch(ctx, billDate, deadlineMs) {
      const day = billDay(billDate);
      if (!day) return { kind: 'unknown', said: 'BAD_BILL_DATE' };
      const signType = parseSignType(ctx.account.sign_type) ?? 'MD5';
      const unsigned = {
        appid: ctx.account.appid,
        mch_id: ctx.account.mch_id,
        sub_mch_id: ctx.account.sub_mch_id,
        nonce_str: nonce(),
        sign_type: signType === 'MD5' ? undefined : signType,
        bill_date: day,
        bill_type: 'ALL',
        tar_type: 'GZIP',
      };
      const signed = { ...unsigned, sign: sign(unsigned, ctx.credentials.api_key ?? '', signType) };
      const outcome = await http.download(
        `${baseUrl}${wechatBillPath}`,
        toXml(signed),
        { 'content-type': 'text/xml; charset=utf-8' },
        { deadlineMs, maxResponseBytes: maxStatementBytes },
      );
      if (outcome.kind === 'none') return { kind: 'unknown', said: outcome.said };
      return fetched(outcome.bytes, billDate, ctx);
    },
    read: readWechatStatement,
  };
}

/** The account a statement is WeChat's for: `mch_id`, with `/sub_mch_id` in service-provider mode. */
function accountOf(ctx: ChannelContext): string {
  const { mch_id: mchId = '', sub_mch_id: subMchId } = ctx.account;
  return subMchId ? `${mchId}/${subMchId}` : mchId;
}

/** `YYYY-MM-DD` → WeChat's `yyyyMMdd`; undefined when it is no date. */
function billDay(billDate: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(billDate)) return undefined;
  return fromUtc8(`${billDate} 00:00:00`, 'dashed') === undefined ? undefined : billDate.replaceAll('-', '');
}

/** What a downloadbill answer came to, for this account. */
function fetched(raw: Buffer, billDate: string, ctx: ChannelContext): StatementFetch {
  let answer: BillAnswer;
  try {
    answer = readBillAnswer(raw, billDate);
  } catch (error) {
    return { kind: 'unknown', said: `MALFORMED:${error instanceof Error ? error.message : ''}` };
  }
  if (answer.kind === 'refused') {
    const said = `${answer.returnMsg}${answer.errorCode ? ` (${answer.errorCode})` : ''}`;
    return notPublished(answer) ? { kind: 'not_published', said } : { kind: 'unknown', said: `FAIL:${said}` };
  }
  // Only this account's statement may be kept as its: every row names its mch_id (and sub_mch_id).
  const { mch_id: mchId, sub_mch_id: subMchId } = ctx.account;
  const strangers = [...answer.mchIds].filter((id) => id !== mchId);
  if (subMchId) strangers.push(...[...answer.subMchIds].filter((id) => id !== subMchId));
  if (strangers.length > 0) return { kind: 'unknown', said: `NOT_THIS_ACCOUNT:${strangers.join(',')}` };
  return { kind: 'published', raw, rows: answer.rows };
}

/**
 * WeChat's answers for a statement it has not made: `No Bill Exist` (error_code 20002, which WeChat also gives a
 * day without a payment: such a day is never read as an empty one), `Bill Creating` (账单未生成: before about
 * 10:00 UTC+8 the next day), and the older document's 该日期订单未生成.
 */
function notPublished(answer: { readonly returnMsg: string; readonly errorCode?: string }): boolean {
  return (
    answer.errorCode === '20002' ||
    /no bill exist|bill creating/i.test(answer.returnMsg) ||
    /未生成|账单不存在/.test(answer.returnMsg)
  );
}

/** Reads a kept statement file again: its rows (a refusal or a file that is not WeChat's statement throws). */
export function readWechatStatement(raw: Buffer, billDate: string): readonly StatementRow[] {
  const answer = readBillAnswer(raw, billDate);
  if (answer.kind === 'refused') throw new StatementError(`not a statement: ${answer.returnMsg}`);
  return answer.rows;
}

/**
 * Reads a downloadbill answer as fetched: gzip or not, a BOM or not; an `<xml>` refusal, or the statement's rows.
 * Throws a StatementError for anything else: an unknown 交易状态 or 退款状态, an amount that is not whole fen, a line
 * whose fields do not match the header, a missing summary or one whose 总交易单数 is not the number of rows (a cut
 * file).
 */
export function readBillAnswer(raw: Buffer, billDate: string): BillAnswer {
  const bytes = isGzip(raw) ? inflate(raw) : raw;
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  if (/^\s*<(\?xml|xml)/.test(text)) {
    const fields = fromXml(text.trim());
    if (!fields) throw new StatementError('an answer that is neither XML nor a statement');
    if (fields.return_code === 'SUCCESS') throw new StatementError('an XML answer with return_code=SUCCESS');
    return { kind: 'refused', returnMsg: fields.return_msg ?? '', errorCode: fields.error_code };
  }
  return readStatementText(text, billDate);
}

function isGzip(raw: Buffer): boolean {
  return raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b;
}

function inflate(raw: Buffer): Buffer {
  try {
    return gunzipSync(raw, { maxOutputLength: maxInflatedBytes });
  } catch (error) {
    throw new StatementError(`gzip: ${error instanceof Error ? error.message : 'unreadable'}`);
  }
}

/** One line's fields: the backtick each starts with removed. */
function lineFields(line: string): string[] {
  if (!line.startsWith('`')) throw new StatementError(`a line without its backticks: ${line.slice(0, 40)}`);
  return line.slice(1).split(',`');
}

/** A header's names, trimmed (a stray BOM or backtick dropped). */
function headerNames(line: string): string[] {
  return line.split(',').map((name) => name.replace(/^[\uFEFF`\s]+|\s+$/g, ''));
}

function readStatementText(text: string, billDate: string): BillAnswer {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  const summaryAt = lines.findIndex((line) => headerNames(line)[0] === billColumns.summaryCount);
  if (lines.length === 0 || summaryAt < 1) throw new StatementError('no detail header, or no summary');
  if (summaryAt !== lines.length - 2) throw new StatementError('the summary is not the last two lines');
  const header = headerNames(lines[0] ?? '');
  const column = columnsOf(header);
  const rows: StatementRow[] = [];
  const mchIds = new Set<string>();
  const subMchIds = new Set<string>();
  for (const line of lines.slice(1, summaryAt)) {
    const values = lineFields(line);
    if (values.length !== header.length) {
      throw new StatementError(`a line of ${values.length} fields under a header of ${header.length}`);
    }
    const get = (name: string) => {
      const at = column(name);
      return at === undefined ? undefined : values[at];
    };
    const mchId = get(billColumns.mchId);
    if (mchId) mchIds.add(mchId);
    const subMchId = billColumns.subMchId.map(get).find((value) => value !== undefined);
    if (subMchId && subMchId !== '0') subMchIds.add(subMchId);
    rows.push(readRow(get, billDate));
  }
  const summaryNames = headerNames(lines[summaryAt] ?? '');
  const summary = lineFields(lines[summaryAt + 1] ?? '');
  if (summary.length !== summaryNames.length)
    throw new StatementError('a summary that does not fit its header');
  const count = summary[summaryNames.indexOf(billColumns.summaryCount)];
  if (count !== String(rows.length)) {
    throw new StatementError(`总交易单数 ${count} but ${rows.length} rows`);
  }
  return { kind: 'statement', rows, mchIds, subMchIds };
}

/** The index of each column by name; the columns every statement has must be there. */
function columnsOf(header: readonly string[]): (name: string) => number | undefined {
  const at = new Map<string, number>();
  header.forEach((name, i) => {
    if (!at.has(name)) at.set(name, i);
  });
  const required = [billColumns.time, billColumns.outTradeNo, billColumns.tradeState];
  const missing: string[] = required.filter((name) => !at.has(name));
  if (!billColumns.payAmount.some((name) => at.has(name))) missing.push(billColumns.payAmount[0]);
  if (missing.length > 0) throw new StatementError(`no column ${missing.join(', ')}`);
  return (name) => at.get(name);
}

/** One detail line as a statement row. */
function readRow(get: (name: string) => string | undefined, billDate: string): StatementRow {
  const outTradeNo = get(billColumns.outTradeNo) ?? '';
  const word = get(billColumns.tradeState) ?? '';
  if (!outTradeNo) throw new StatementError('a row without 商户订单号');
  const amount = (name: string) => {
    const text = get(name);
    const fen = text === undefined ? undefined : statementFen(text);
    if (fen === undefined) throw new StatementError(`${name} ${String(text)} of ${outTradeNo} is no amount`);
    return fen;
  };
  const payAmount = () => amount(billColumns.payAmount.find((name) => get(name) !== undefined) ?? '');
  const common = {
    bill_date: billDate,
    out_trade_no: outTradeNo,
    ...optional('channel_trade_no', get(billColumns.transactionId)),
    ...optional('time', timeOf(get(billColumns.time) ?? '', outTradeNo)),
    ...optional('service_fee', serviceFee(get(billColumns.serviceFee))),
  };
  switch (word) {
    case 'SUCCESS':
      return { ...common, kind: 'pay', fee: payAmount(), state: 'paid', channel_state: word };
    case 'REVOKED': {
      // A payment reversed after it succeeded: listed under its own number. Its amount is the payment's, or the
      // amount given back where a statement lists it there instead.
      const paid = payAmount();
      const fee =
        paid > 0 || get(billColumns.refundAmount) === undefined ? paid : amount(billColumns.refundAmount);
      return { ...common, kind: 'pay', fee, state: 'reversed', channel_state: word };
    }
    case 'REFUND': {
      const outRefundNo = get(billColumns.outRefundNo) ?? '';
      const status = get(billColumns.refundStatus) ?? '';
      const state = refundStates[status];
      if (!outRefundNo) throw new StatementError(`a refund of ${outTradeNo} without 商户退款单号`);
      if (!state) throw new StatementError(`退款状态 ${status} of refund ${outRefundNo}`);
      return {
        ...common,
        kind: 'refund',
        out_refund_no: outRefundNo,
        ...optional('channel_refund_no', get(billColumns.refundId)),
        fee: amount(billColumns.refundAmount),
        state,
        channel_state: status,
      };
    }
    default:
      throw new StatementError(`交易状态 ${word} of ${outTradeNo}`);
  }
}

/** `{ name: value }` when there is a value; nothing otherwise (the row's optional fields stay absent). */
function optional<K extends string, V>(name: K, value: V | undefined | ''): { [P in K]?: V } {
  return value === undefined || value === '' ? {} : ({ [name]: value } as { [P in K]?: V });
}

/** 手续费 in fen where it is whole fen (WeChat rounds each row's fee to the fen); absent otherwise. */
function serviceFee(text: string | undefined): number | undefined {
  return text === undefined || text === '' ? undefined : statementFen(text, true);
}

/**
 * 交易时间 (UTC+8, `yyyy-MM-dd HH:mm:ss`) → ISO UTC. The document's own example writes it `2014-11-1016：33：45`
 * (no space, full-width colons), which is read as the time it means.
 */
function timeOf(text: string, outTradeNo: string): string | undefined {
  if (text === '') return undefined;
  const m = /^(\d{4}-\d{2}-\d{2}) ?(\d{2})[:：](\d{2})[:：](\d{2})$/.exec(text);
  const seconds = m ? fromUtc8(`${m[1]} ${m[2]}:${m[3]}:${m[4]}`, 'dashed') : undefined;
  if (seconds === undefined) throw new StatementError(`交易时间 ${text} of ${outTradeNo}`);
  return new Date(seconds * 1000).toISOString();
}
