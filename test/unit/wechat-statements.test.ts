import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import type { ChannelContext, StatementRow } from '#core/channels/channel.ts';
import type { ChannelHttp, DownloadOutcome, PostOptions } from '#core/channels/kit/http.ts';
import { StatementError, statementFen } from '#core/channels/kit/statements.ts';
import { wechat } from '#core/channels/wechat/index.ts';
import {
  maxStatementBytes,
  readBillAnswer,
  readWechatStatement,
  wechatBillPath,
  wechatStatements,
} from '#core/channels/wechat/statements.ts';
import { fromXml, toXml } from '#core/channels/wechat/wire.ts';
import { fenToYuan, maxFen } from '#core/money.ts';
import { type SignType, verify } from '#core/signing.ts';
import { downloadBill, type WechatBillEntry, wechatBillText, wechatLedger } from '#sandbox/wechat-bill.ts';

/**
 * The example of 下载交易账单 (https://pay.weixin.qq.com/wiki/doc/api/micropay.php?chapter=9_6), as the document
 * publishes it: its 24 columns, its two MICROPAY payments, its summary, and its times as it writes them (no space
 * between date and time, full-width colons).
 */
const documentExample = [
  '交易时间,公众账号ID,商户号,子商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,总金额,代金券或立减优惠金额,微信退款单号,商户退款单号,退款金额,代金券或立减优惠退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率',
  '`2014-11-1016：33：45,`wx2421b1c4370ec43b,`10000100,`0,`1000,`1001690740201411100005734289,`1415640626,`085e9858e3ba5186aafcbaed1,`MICROPAY,`SUCCESS,`CFT,`CNY,`0.01,`0.0,`0,`0,`0,`0,`,`,`被扫支付测试,`订单额外描述,`0,`0.60%',
  '`2014-11-1016：46：14,`wx2421b1c4370ec43b,`10000100,`0,`1000,`1002780740201411100005729794,`1415635270,`085e9858e90ca40c0b5aee463,`MICROPAY,`SUCCESS,`CFT,`CNY,`0.01,`0.0,`0,`0,`0,`0,`,`,`被扫支付测试,`订单额外描述,`0,`0.60%',
  '总交易单数,总交易额,总退款金额,总代金券或立减优惠退款金额,手续费总金额',
  '`2,`0.02,`0.0,`0.0,`0',
].join('\n');

const documentRows: StatementRow[] = [
  {
    bill_date: '2014-11-10',
    kind: 'pay',
    out_trade_no: '1415640626',
    channel_trade_no: '1001690740201411100005734289',
    fee: 1,
    state: 'paid',
    channel_state: 'SUCCESS',
    time: '2014-11-10T08:33:45.000Z',
    service_fee: 0,
  },
  {
    bill_date: '2014-11-10',
    kind: 'pay',
    out_trade_no: '1415635270',
    channel_trade_no: '1002780740201411100005729794',
    fee: 1,
    state: 'paid',
    channel_state: 'SUCCESS',
    time: '2014-11-10T08:46:14.000Z',
    service_fee: 0,
  },
];

/** Today's 27 columns (the newer layout: 应结订单金额 beside 订单金额, 退款金额 beside 申请退款金额, 费率备注). */
const header27 =
  '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注';
const summary27 =
  '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额';

/** A 27-column line from its values in header order. */
const line = (values: readonly string[]) => values.map((v) => `\`${v}`).join(',');
const payLine = (outTradeNo: string, amount: string, state = 'SUCCESS', time = '2026-03-01 09:15:00') =>
  line([
    ...[time, 'wx2421b1c4370ec43b', '1900000109', '0', '', '4200000000202603010000000001', outTradeNo, 'o1'],
    ...['MICROPAY', state, 'OTHERS', 'CNY', amount, '0.00', '0', '0', '0.00', '0.00', '', '', 'goods', ''],
    ...['0.01000', '0.60%', amount, '0.00', ''],
  ]);
const refundLine = (outRefundNo: string, refunded: string, asked: string, status: string) =>
  line([
    ...['2026-03-01 18:00:01', 'wx2421b1c4370ec43b', '1900000109', '0', '', '4200000000202603010000000001'],
    ...['o-refunded', 'o1', 'MICROPAY', 'REFUND', 'OTHERS', 'CNY', '0.00', '0.00', '50300000000000000001'],
    ...[
      outRefundNo,
      refunded,
      '0.00',
      'ORIGINAL',
      status,
      'goods',
      '',
      '-0.01000',
      '0.60%',
      '0.00',
      asked,
      '',
    ],
  ]);
const statement27 = (lines: readonly string[], count = lines.length) =>
  `\uFEFF${[header27, ...lines, summary27, line([String(count), '0', '0', '0', '0', '0', '0'])].join('\r\n')}\r\n`;

/** How the comparison reads each 退款状态. */
const refundStateOf: Readonly<Record<string, string>> = {
  SUCCESS: 'refunded',
  PROCESSING: 'refund_processing',
  FAIL: 'refund_failed',
  REFUNDCLOSE: 'refund_failed',
  CHANGE: 'refund_abnormal',
};

const read = (text: string | Buffer, billDate = '2026-03-01') =>
  readWechatStatement(typeof text === 'string' ? Buffer.from(text, 'utf8') : text, billDate);

describe('reading WeChat statements (下载交易账单)', () => {
  it("reads the document's published example", () => {
    assert.deepEqual(read(documentExample, '2014-11-10'), documentRows);
  });

  it('the same with a BOM, CRLF line ends, and gzipped as tar_type=GZIP answers it', () => {
    const withBom = `\uFEFF${documentExample.replaceAll('\n', '\r\n')}\r\n`;
    assert.deepEqual(read(withBom, '2014-11-10'), documentRows);
    assert.deepEqual(read(gzipSync(Buffer.from(withBom)), '2014-11-10'), documentRows);
  });

  it('reads the header by name: the columns in another order give the same rows', () => {
    const lines = documentExample.split('\n');
    const swap = (text: string, sep: string) => {
      const parts = text.split(sep);
      [parts[6], parts[12]] = [parts[12] as string, parts[6] as string];
      [parts[0], parts[9]] = [parts[9] as string, parts[0] as string];
      return parts.join(sep);
    };
    const swapped = [
      swap(lines[0] ?? '', ','),
      ...lines.slice(1, 3).map((l) => `\`${swap(l.slice(1), ',`')}`),
      ...lines.slice(3),
    ];
    assert.deepEqual(read(swapped.join('\n'), '2014-11-10'), documentRows);
  });

  it("today's 27 columns: a payment's amount is 订单金额, a refund's 退款金额 (申请退款金额 is what was asked)", () => {
    const rows = read(
      statement27([
        payLine('o-paid', '12.34'),
        payLine('o-revoked', '0.05', 'REVOKED'),
        refundLine('r-success', '3.00', '3.20', 'SUCCESS'),
        refundLine('r-processing', '0.01', '0.01', 'PROCESSING'),
        refundLine('r-fail', '1.00', '1.00', 'FAIL'),
        refundLine('r-closed', '1.00', '1.00', 'REFUNDCLOSE'),
        refundLine('r-change', '2.50', '2.50', 'CHANGE'),
      ]),
    );
    const brief = rows.map((r) => [r.kind, r.out_trade_no, r.out_refund_no, r.fee, r.state, r.channel_state]);
    assert.deepEqual(brief, [
      ['pay', 'o-paid', undefined, 1234, 'paid', 'SUCCESS'],
      ['pay', 'o-revoked', undefined, 5, 'reversed', 'REVOKED'],
      ['refund', 'o-refunded', 'r-success', 300, 'refunded', 'SUCCESS'],
      ['refund', 'o-refunded', 'r-processing', 1, 'refund_processing', 'PROCESSING'],
      ['refund', 'o-refunded', 'r-fail', 100, 'refund_failed', 'FAIL'],
      ['refund', 'o-refunded', 'r-closed', 100, 'refund_failed', 'REFUNDCLOSE'],
      ['refund', 'o-refunded', 'r-change', 250, 'refund_abnormal', 'CHANGE'],
    ]);
    const refund = rows[2];
    assert.equal(refund?.channel_refund_no, '50300000000000000001');
    assert.equal(refund?.channel_trade_no, '4200000000202603010000000001');
    assert.equal(refund?.time, '2026-03-01T10:00:01.000Z');
    assert.equal(refund?.service_fee, -1);
    assert.equal(rows[0]?.service_fee, 1);
    assert.equal(rows[0]?.time, '2026-03-01T01:15:00.000Z');
  });

  it('a revoked payment that lists its amount as given back (payment amount 0) reads that amount', () => {
    const values = payLine('o-revoked', '0.00', 'REVOKED').split(',`');
    values[16] = '0.07';
    const rows = read(statement27([values.join(',`')]));
    assert.deepEqual([rows[0]?.fee, rows[0]?.state], [7, 'reversed']);
  });

  it('an empty day is a statement with no rows', () => {
    assert.deepEqual(read(statement27([])), []);
  });

  describe('refuses what is not a whole statement (StatementError: fetched again, never half-read)', () => {
    const cases: { name: string; text: string; message: RegExp }[] = [
      { name: 'a cut file (no summary)', text: `${header27}\n${payLine('o', '1.00')}\n`, message: /summary/ },
      {
        name: '总交易单数 not the number of rows',
        text: statement27([payLine('o', '1.00')], 2),
        message: /总交易单数 2 but 1/,
      },
      {
        name: 'a line without its backticks',
        text: statement27([payLine('o', '1.00').replaceAll('`', '')]),
        message: /backticks/,
      },
      {
        name: 'a line of another width than the header',
        text: statement27([`${payLine('o', '1.00')},\`extra`]),
        message: /28 fields under a header of 27/,
      },
      { name: 'an unknown 交易状态', text: statement27([payLine('o', '1.00', 'CLOSED')]), message: /CLOSED/ },
      {
        name: 'an unknown 退款状态',
        text: statement27([refundLine('r', '1.00', '1.00', 'DONE')]),
        message: /退款状态 DONE/,
      },
      { name: 'an amount past the fen', text: statement27([payLine('o', '1.001')]), message: /no amount/ },
      { name: 'a negative amount', text: statement27([payLine('o', '-1.00')]), message: /no amount/ },
      { name: 'a float in exponent form', text: statement27([payLine('o', '1e2')]), message: /no amount/ },
      {
        name: 'a time that is no time',
        text: statement27([payLine('o', '1.00', 'SUCCESS', '2026-02-30 10:00:00')]),
        message: /交易时间/,
      },
      {
        name: 'no 商户订单号 column',
        text: statement27([]).replace('商户订单号', 'x'),
        message: /商户订单号/,
      },
      { name: 'an XML answer with SUCCESS', text: toXml({ return_code: 'SUCCESS' }), message: /SUCCESS/ },
      {
        name: 'an XML refusal',
        text: toXml({ return_code: 'FAIL', return_msg: 'x' }),
        message: /not a statement/,
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        assert.throws(
          () => read(c.text),
          (error: unknown) => error instanceof StatementError && c.message.test(error.message),
        );
      });
    }
    it('a broken gzip', () => {
      assert.throws(() => read(Buffer.from([0x1f, 0x8b, 1, 2, 3])), StatementError);
    });
  });

  it('statementFen: yuan to fen by string arithmetic, zeros past the fen allowed, a sign only where asked', () => {
    const good: [string, number][] = [
      ['0', 0],
      ['0.0', 0],
      ['0.01', 1],
      ['8.8', 880],
      ['0.04000', 4],
      ['12345678.90', 1234567890],
      ['100000000.00', maxFen],
    ];
    for (const [text, fen] of good) assert.equal(statementFen(text), fen, text);
    for (const text of ['', '-1', '0.001', '0.00001', '1e2', '.5', '1.', ' 1', '100000000.01', '0x10']) {
      assert.equal(statementFen(text), undefined, text);
    }
    assert.equal(statementFen('-0.05000', true), -5);
    assert.equal(statementFen('-0.00000', true), 0);
    assert.equal(statementFen('-0.05940', true), undefined);
  });

  it('every amount exact to the fen: random yuan amounts round-trip through a generated statement (property)', () => {
    const fen = fc.integer({ min: 1, max: maxFen });
    const entry = fc.record({
      kind: fc.constantFrom('pay', 'revoked', 'refund'),
      total_fee: fen,
      refund_fee: fen,
      refund_status: fc.constantFrom('SUCCESS', 'PROCESSING', 'REFUNDCLOSE', 'CHANGE'),
      second: fc.integer({ min: 0, max: 86_399 }),
      gzip: fc.boolean(),
    });
    const day = Date.UTC(2026, 2, 1) - 8 * 3600_000; // 2026-03-01 00:00 UTC+8
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 12 }), fc.boolean(), (drawn, gzip) => {
        const entries: WechatBillEntry[] = drawn.map((d, i) => ({
          time: day + d.second * 1000,
          kind: d.kind,
          appid: 'wx2421b1c4370ec43b',
          mch_id: '1900000109',
          out_trade_no: `o${i}`,
          transaction_id: `4200${String(i).padStart(24, '0')}`,
          total_fee: d.total_fee,
          ...(d.kind === 'refund'
            ? {
                out_refund_no: `r${i}`,
                refund_id: `503${i}`,
                refund_fee: d.refund_fee,
                refund_status: d.refund_status,
              }
            : {}),
        }));
        const text = Buffer.from(wechatBillText(entries), 'utf8');
        const rows = read(gzip ? gzipSync(text) : text);
        const got = rows
          .map((r) => `${r.out_refund_no ?? r.out_trade_no}:${r.fee}:${r.state}:${r.time}`)
          .sort();
        const want = entries
          .map((e) => {
            const state =
              e.kind === 'pay'
                ? 'paid'
                : e.kind === 'revoked'
                  ? 'reversed'
                  : refundStateOf[e.refund_status ?? 'SUCCESS'];
            const fee = e.kind === 'refund' ? e.refund_fee : e.total_fee;
            return `${e.out_refund_no ?? e.out_trade_no}:${fee}:${state}:${new Date(e.time).toISOString()}`;
          })
          .sort();
        assert.deepEqual(got, want);
        // 手续费 too: 0.60% rounded to the fen, written with five decimals, read back exactly.
        for (const r of rows) {
          const base = r.kind === 'refund' ? -r.fee : r.state === 'reversed' ? 0 : r.fee;
          const expected = Math.sign(base) * Math.floor((Math.abs(base) * 6 + 500) / 1000);
          assert.equal(r.service_fee, expected === 0 ? 0 : expected);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('fenToYuan and statementFen agree on every amount (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: maxFen }), fc.nat(3), (fen, zeros) => {
        assert.equal(statementFen(fenToYuan(fen) + '0'.repeat(zeros)), fen);
      }),
    );
  });
});

/** A ChannelHttp stand-in that answers every download with `answer` and keeps what was asked. */
function fakeHttp(answer: DownloadOutcome) {
  const asked: { target: string; body: string; options: PostOptions }[] = [];
  const http = {
    async download(target: string, body: string, _headers: Record<string, string>, options: PostOptions) {
      asked.push({ target, body, options });
      return answer;
    },
  } as unknown as ChannelHttp;
  return { http, asked };
}

const key = 'sandboxwechatkey0123456789abcdef';
const ctx = (account: Record<string, string> = {}): ChannelContext => ({
  account: { appid: 'wx2421b1c4370ec43b', mch_id: '1900000109', ...account },
  credentials: { api_key: key },
});
const bytes = (text: string) => ({ kind: 'answer' as const, bytes: Buffer.from(text, 'utf8') });
const refusal = (return_msg: string, error_code?: string) =>
  bytes(toXml({ return_code: 'FAIL', return_msg, error_code }));

describe('fetching WeChat statements (pay/downloadbill)', () => {
  it('is the statements of the channel the WeChat descriptor makes, naming its document', () => {
    const channel = wechat.create({ url: 'https://api.mch.weixin.qq.com/', http: fakeHttp(bytes('')).http });
    assert.match(channel.statements?.source ?? '', /micropay\.php\?chapter=9_6/);
    assert.equal(channel.statements?.accountOf(ctx()), '1900000109');
    assert.equal(channel.statements?.accountOf(ctx({ sub_mch_id: '1900000110' })), '1900000109/1900000110');
  });

  for (const signType of ['MD5', 'HMAC-SHA256'] as SignType[]) {
    it(`asks for the day's ALL statement, gzipped, signed ${signType} as the merchant signs`, async () => {
      const { http, asked } = fakeHttp(bytes(statement27([])));
      const account = { sub_mch_id: '1900000110', ...(signType === 'MD5' ? {} : { sign_type: signType }) };
      await wechatStatements('https://api.mch.weixin.qq.com', http).fetch(ctx(account), '2026-03-01', 5000);
      const [request] = asked;
      assert.equal(request?.target, `https://api.mch.weixin.qq.com${wechatBillPath}`);
      assert.equal(request?.options.deadlineMs, 5000);
      assert.equal(request?.options.maxResponseBytes, maxStatementBytes);
      const fields = fromXml(request?.body ?? '');
      assert.ok(fields);
      assert.deepEqual(
        { ...fields, nonce_str: undefined, sign: undefined },
        {
          appid: 'wx2421b1c4370ec43b',
          mch_id: '1900000109',
          sub_mch_id: '1900000110',
          ...(signType === 'MD5' ? {} : { sign_type: signType }),
          bill_date: '20260301',
          bill_type: 'ALL',
          tar_type: 'GZIP',
          nonce_str: undefined,
          sign: undefined,
        },
      );
      assert.ok(verify(fields, key, signType));
    });
  }

  it('published: the file exactly as fetched (gzip kept), and its rows', async () => {
    const raw = gzipSync(Buffer.from(statement27([payLine('o-paid', '1.01')])));
    const { http } = fakeHttp({ kind: 'answer', bytes: raw });
    const got = await wechatStatements('https://x', http).fetch(ctx(), '2026-03-01', 5000);
    assert.equal(got.kind, 'published');
    assert.ok(got.kind === 'published' && got.raw.equals(raw));
    assert.deepEqual(got.kind === 'published' && got.rows.map((r) => [r.out_trade_no, r.fee, r.bill_date]), [
      ['o-paid', 101, '2026-03-01'],
    ]);
  });

  const answers: { name: string; answer: DownloadOutcome; kind: string; said: RegExp }[] = [
    {
      name: 'No Bill Exist (20002)',
      answer: refusal('No Bill Exist', '20002'),
      kind: 'not_published',
      said: /No Bill/,
    },
    { name: 'Bill Creating', answer: refusal('Bill Creating'), kind: 'not_published', said: /Bill Creating/ },
    {
      name: 'the older 该日期订单未生成',
      answer: refusal('该日期订单未生成'),
      kind: 'not_published',
      said: /未生成/,
    },
    {
      name: 'any 20002, gzipped',
      answer: {
        kind: 'answer',
        bytes: gzipSync(Buffer.from(toXml({ return_code: 'FAIL', return_msg: 'x', error_code: '20002' }))),
      },
      kind: 'not_published',
      said: /20002/,
    },
    {
      name: 'invalid bill_date (20001)',
      answer: refusal('invalid bill_date', '20001'),
      kind: 'unknown',
      said: /^FAIL:invalid bill_date/,
    },
    { name: 'a signature refusal', answer: refusal('签名错误'), kind: 'unknown', said: /^FAIL:签名错误/ },
    {
      name: 'no answer in time',
      answer: { kind: 'none', said: 'TIMEOUT' },
      kind: 'unknown',
      said: /^TIMEOUT$/,
    },
    {
      name: 'an answer too large',
      answer: { kind: 'none', said: 'TOO_LARGE' },
      kind: 'unknown',
      said: /TOO_LARGE/,
    },
    {
      name: 'a cut statement',
      answer: bytes(`${header27}\n${payLine('o', '1.00')}`),
      kind: 'unknown',
      said: /^MALFORMED:/,
    },
    {
      name: "another merchant's statement",
      answer: bytes(statement27([payLine('o', '1.00').replace('`1900000109', '`1900000999')])),
      kind: 'unknown',
      said: /NOT_THIS_ACCOUNT:1900000999/,
    },
  ];
  for (const c of answers) {
    it(`${c.name}: ${c.kind}`, async () => {
      const got = await wechatStatements('https://x', fakeHttp(c.answer).http).fetch(
        ctx(),
        '2026-03-01',
        5000,
      );
      assert.equal(got.kind, c.kind);
      assert.match(got.kind === 'published' ? '' : got.said, c.said);
    });
  }

  it('in service-provider mode, rows of another sub-merchant are not this account', async () => {
    const other = payLine('o', '1.00').replace('`1900000109,`0', '`1900000109,`1900000777');
    const { http } = fakeHttp(bytes(statement27([other])));
    const got = await wechatStatements('https://x', http).fetch(
      ctx({ sub_mch_id: '1900000110' }),
      '2026-03-01',
      5000,
    );
    assert.deepEqual(got, { kind: 'unknown', said: 'NOT_THIS_ACCOUNT:1900000777' });
  });

  it('a bill date that is no date asks nothing', async () => {
    const { http, asked } = fakeHttp(bytes(''));
    const got = await wechatStatements('https://x', http).fetch(ctx(), '2026-02-30', 5000);
    assert.deepEqual([got.kind, asked.length], ['unknown', 0]);
  });
});

describe("the WeChat sandbox's statement (sandbox/wechat-bill.ts)", () => {
  const appids = new Set(['wx2421b1c4370ec43b']);
  const now = Date.UTC(2026, 2, 1, 4); // 2026-03-01 12:00 UTC+8
  const order = (outTradeNo: string, state: string, paidAt: number | undefined, fee: string) => ({
    outTradeNo,
    state,
    paidAt,
    transactionId: paidAt === undefined ? undefined : `4200${outTradeNo.padStart(24, '0')}`,
    fields: { appid: 'wx2421b1c4370ec43b', mch_id: '1900000109', total_fee: fee, body: 'goods' },
  });
  const ledger = wechatLedger([
    order('1', 'SUCCESS', now - 3600_000, '101'),
    order('2', 'REVOKED', now - 1800_000, '2'),
    order('3', 'REVOKED', undefined, '5'), // never paid, reversed: not listed
    order('4', 'USERPAYING', undefined, '7'),
    order('5', 'SUCCESS', now - 86_400_000, '9'), // the day before
    {
      ...order('6', 'REFUND', now - 600_000, '1000'),
      refunds: [
        {
          outRefundNo: 'r1',
          refundId: '5031',
          fee: 300,
          status: 'SUCCESS',
          acceptedAt: now - 500_000,
          successAt: now,
        },
        { outRefundNo: 'r2', refundId: '5032', fee: 200, status: 'PROCESSING', acceptedAt: now - 400_000 },
      ],
    },
  ]);
  const request = (fields: Record<string, string> = {}) => ({
    appid: 'wx2421b1c4370ec43b',
    mch_id: '1900000109',
    nonce_str: 'n',
    sign: 'S',
    bill_date: '20260301',
    bill_type: 'ALL',
    ...fields,
  });
  const statementOf = (fields: Record<string, string> = {}) => {
    const answer = downloadBill(request(fields), appids, ledger, now);
    assert.equal(answer.kind, 'bill');
    return answer.kind === 'bill' ? answer.body : Buffer.alloc(0);
  };

  it("lists the day's payments, revoked payments and refunds; what was never paid is not listed", () => {
    const rows = read(statementOf(), '2026-03-01');
    assert.deepEqual(
      rows.map((r) => [r.kind, r.out_trade_no, r.out_refund_no, r.fee, r.state, r.time]),
      [
        ['pay', '1', undefined, 101, 'paid', toIso(now - 3600_000)],
        ['pay', '2', undefined, 2, 'reversed', toIso(now - 1800_000)],
        ['pay', '6', undefined, 1000, 'paid', toIso(now - 600_000)],
        ['refund', '6', 'r1', 300, 'refunded', toIso(now - 500_000)],
        ['refund', '6', 'r2', 200, 'refund_processing', toIso(now - 400_000)],
      ],
    );
    assert.deepEqual(
      read(statementOf({ bill_date: '20260228' }), '2026-02-28').map((r) => r.out_trade_no),
      ['5'],
    );
  });

  it("in WeChat's format: BOM, 27 columns, backticks, summary with its totals, CRLF; gzip when asked", () => {
    const text = statementOf().toString('utf8');
    assert.ok(text.startsWith(`\uFEFF${header27}\r\n`));
    assert.ok(text.endsWith(`${summary27}\r\n\`5,\`11.03,\`5.00,\`0.00,\`0.04000,\`11.03,\`5.00\r\n`), text);
    const gz = statementOf({ tar_type: 'GZIP' });
    assert.deepEqual([gz[0], gz[1]], [0x1f, 0x8b]);
    assert.deepEqual(read(gz), read(text));
  });

  it('SUCCESS and REFUND statements list only payments, only refunds, in their own columns', () => {
    assert.deepEqual(
      read(statementOf({ bill_type: 'SUCCESS' })).map((r) => r.out_trade_no),
      ['1', '2', '6'],
    );
    const refunds = statementOf({ bill_type: 'REFUND' }).toString('utf8');
    assert.match(refunds, /退款申请时间,退款成功时间/);
    assert.deepEqual(
      read(refunds).map((r) => r.out_refund_no),
      ['r1', 'r2'],
    );
  });

  it("a day still to come is WeChat's statement not made yet (账单未生成); bad requests are refused", () => {
    const refused = (fields: Record<string, string>) => downloadBill(request(fields), appids, ledger, now);
    assert.deepEqual(refused({ bill_date: '20260302' }), {
      kind: 'fail',
      returnMsg: 'Bill Creating',
      errorCode: '20002',
    });
    assert.equal(refused({ bill_date: '20260301' }).kind, 'bill');
    assert.deepEqual(refused({ bill_date: '20260230' }), {
      kind: 'fail',
      returnMsg: 'invalid bill_date',
      errorCode: '20001',
    });
    assert.deepEqual(refused({ bill_type: 'DAILY' }), {
      kind: 'fail',
      returnMsg: 'invalid bill_type',
      errorCode: '20001',
    });
    assert.deepEqual(refused({ tar_type: 'ZIP' }), {
      kind: 'fail',
      returnMsg: 'invalid tar_type',
      errorCode: '20001',
    });
    assert.deepEqual(refused({ out_trade_no: '1' }), {
      kind: 'fail',
      returnMsg: 'invalid parameter',
      errorCode: '20001',
    });
    assert.equal(refused({ appid: 'wx9999999999999999' }).kind, 'fail');
    assert.equal(refused({ bill_date: '' }).kind, 'fail');
  });

  it("another account's orders are not in the statement", () => {
    const answer = downloadBill(request({ mch_id: '1900000200' }), appids, ledger, now);
    assert.ok(answer.kind === 'bill');
    assert.deepEqual(read(answer.body), []);
  });

  it('reading it with the reader gives what readBillAnswer gives', () => {
    const answer = readBillAnswer(statementOf(), '2026-03-01');
    assert.ok(answer.kind === 'statement');
    assert.deepEqual([...answer.mchIds], ['1900000109']);
  });
});

/** An instant as the statement's 交易时间 reads back: ISO UTC, to the second. */
function toIso(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString();
}
