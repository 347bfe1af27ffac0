import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { zipSync } from 'fflate';
import iconv from 'iconv-lite';
import { describe, it } from 'vitest';
import type { CallOutcome } from '#core/channels/alipay/answers.ts';
import { alipay } from '#core/channels/alipay/index.ts';
import type { AlipayBiz } from '#core/channels/alipay/refunds.ts';
import {
  alipayBillMethod,
  alipayStatements,
  maxStatementBytes,
  readAlipayBill,
  readAlipayStatement,
  readBillDetail,
  readBillUrlAnswer,
} from '#core/channels/alipay/statements.ts';
import { rsa2Sign } from '#core/channels/alipay/wire.ts';
import type { ChannelContext, StatementRow } from '#core/channels/channel.ts';
import type { ChannelHttp, DownloadOutcome, PostOptions } from '#core/channels/kit/http.ts';
import { StatementError, statementFen } from '#core/channels/kit/statements.ts';
import { fenToYuan, maxFen } from '#core/money.ts';
import {
  AlipayBillDesk,
  type AlipayBillEntry,
  alipayBillZip,
  alipayLedger,
  billUrlLifetimeMs,
  billUrlQuery,
  gbkZip,
} from '#sandbox/alipay-bill.ts';

/*
 * An Alipay 业务明细 as Alipay serves it. Alipay's documents (查询对账单下载地址, 对账说明) show the file only as
 * pictures, and no example of it in text could be found among Alipay's published documents; so this one is
 * constructed, faithful to the layout real statements have as they are publicly quoted (for one,
 * http://www.gxitsky.com/2020/07/27/Business-07-ali-pay-bill/): the `#` lines, the 25-column header, ids padded
 * with a tab, a 交易 with 服务费 negative (money out of the merchant's), refunds with negative amounts and their
 * 退款批次号/请求号, the end marker and the 交易合计/退款合计 lines. Its ids and amounts are made up. The third trade
 * is one a cancel gave back: its 退款 is under the trade's own number.
 */
const header =
  '支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注';
const trade1 = '2026030122001411110500000001';
const trade3 = '2026030122001411110500000003';
const exampleLines = [
  '#支付宝业务明细查询',
  '#账号：[20880211000000000156]',
  '#起始日期：[2026年03月01日 00:00:00]   终止日期：[2026年03月02日 00:00:00]',
  '#-----------------------------------------业务明细列表----------------------------------------',
  header,
  `${trade1}\t,019b76daa80080d1fa57174f\t,交易\t,Sandbox goods,2026-03-01 09:15:00,2026-03-01 09:15:03,S001\t,一号店\t,op7\t,T01\t,**明(138******01)\t,10.00,9.50,0.00,0.00,0.00,0.50,0.00,,0.00\t,0.00,\t,-0.06,0.00,备注一`,
  `${trade1}\t,019b76daa80080d1fa57174f\t,退款\t,Sandbox goods,2026-03-01 09:15:00,2026-03-01 18:00:01,S001\t,一号店\t,op7\t,T01\t,**明(138******01)\t,-3.00,-3.00,0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,019b7a0f00000000000000a1\t,0.02,0.00,`,
  '2026030122001411110500000002\t,019b76daa80080d1fa571750\t,交易\t,小票,2026-03-01 23:59:58,2026-03-01 23:59:59,\t,\t,\t,\t,**红(159******20)\t,0.01,0.01,0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,\t,0.00,0.00,',
  `${trade3}\t,019b76daa80080d1fa571751\t,交易\t,Sandbox goods,2026-03-01 12:00:00,2026-03-01 12:00:02,\t,\t,\t,\t,**红(159******20)\t,8.80,8.80,0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,\t,-0.05,0.00,`,
  `${trade3}\t,019b76daa80080d1fa571751\t,退款\t,Sandbox goods,2026-03-01 12:00:00,2026-03-01 12:00:40,\t,\t,\t,\t,**红(159******20)\t,-8.80,-8.80,0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,019b76daa80080d1fa571751\t,0.05,0.00,`,
  '#-----------------------------------------业务明细列表结束------------------------------------',
  '#交易合计：3笔，商家实收共18.31元，商家优惠共0.50元',
  '#退款合计：2笔，商家实收退款共-11.80元，商家优惠退款共0.00元',
  '#导出时间：[2026年03月02日 05:46:49]',
];
const exampleText = `${exampleLines.join('\r\n')}\r\n`;

const exampleRows: StatementRow[] = [
  {
    bill_date: '2026-03-01',
    kind: 'pay',
    out_trade_no: '019b76daa80080d1fa57174f',
    channel_trade_no: trade1,
    fee: 1000,
    state: 'paid',
    channel_state: '交易',
    time: '2026-03-01T01:15:03.000Z',
    service_fee: 6,
  },
  {
    bill_date: '2026-03-01',
    kind: 'refund',
    out_trade_no: '019b76daa80080d1fa57174f',
    channel_trade_no: trade1,
    out_refund_no: '019b7a0f00000000000000a1',
    fee: 300,
    state: 'refunded',
    channel_state: '退款',
    time: '2026-03-01T10:00:01.000Z',
    service_fee: -2,
  },
  {
    bill_date: '2026-03-01',
    kind: 'pay',
    out_trade_no: '019b76daa80080d1fa571750',
    channel_trade_no: '2026030122001411110500000002',
    fee: 1,
    state: 'paid',
    channel_state: '交易',
    time: '2026-03-01T15:59:59.000Z',
    service_fee: 0,
  },
  {
    bill_date: '2026-03-01',
    kind: 'pay',
    out_trade_no: '019b76daa80080d1fa571751',
    channel_trade_no: trade3,
    fee: 880,
    state: 'reversed',
    channel_state: '交易+退款',
    time: '2026-03-01T04:00:02.000Z',
    service_fee: 0,
  },
];

const summaryText = [
  '#支付宝业务汇总查询',
  '#账号：[20880211000000000156]',
  '门店编号,门店名称,交易订单总笔数,退款订单总笔数',
  '合计,,3,2',
].join('\r\n');

/** The example as Alipay serves it: a zip of GBK files under GBK names (no UTF-8 flag). */
const exampleZip = (detail = exampleText, summary = summaryText) =>
  gbkZip([
    { name: '20880211000000000156_20260301_业务明细.csv', data: iconv.encode(detail, 'gbk') },
    { name: '20880211000000000156_20260301_业务明细(汇总).csv', data: iconv.encode(summary, 'gbk') },
  ]);

const readText = (text: string, billDate = '2026-03-01') => readBillDetail(text, billDate).rows;
const throwsStatement = (read: () => unknown, message: RegExp) =>
  assert.throws(read, (error: unknown) => error instanceof StatementError && message.test(error.message));

describe('reading Alipay statements (业务明细 of bill_type=trade)', () => {
  it('reads the example from its zip: GBK names and text, the 汇总 left aside', () => {
    const bill = readAlipayBill(exampleZip(), '2026-03-01');
    assert.equal(bill.account, '20880211000000000156');
    assert.deepEqual(bill.rows, exampleRows);
    assert.deepEqual(readAlipayStatement(exampleZip(), '2026-03-01'), exampleRows);
  });

  it('the zip is as Alipay serves it: entry names GBK bytes, the UTF-8 flag unset', () => {
    const zip = exampleZip();
    const name = iconv.encode('20880211000000000156_20260301_业务明细.csv', 'gbk');
    const at = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])); // the central directory's first entry
    assert.equal(zip.readUInt16LE(at + 8) & 0x0800, 0);
    assert.ok(zip.subarray(at + 46, at + 46 + name.length).equals(name));
  });

  it('decodes GBK: the text is not UTF-8, and bytes that are not GBK are refused', () => {
    const gbk = iconv.encode(exampleText, 'gbk');
    assert.ok(!gbk.equals(Buffer.from(exampleText, 'utf8')));
    assert.throws(() => new TextDecoder('utf-8', { fatal: true }).decode(gbk));
    const broken = Buffer.concat([gbk.subarray(0, 40), Buffer.from([0xff, 0xff]), gbk.subarray(40)]);
    throwsStatement(
      () => readAlipayBill(gbkZip([{ name: '2088_20260301_业务明细.csv', data: broken }]), '2026-03-01'),
      /not GBK/,
    );
  });

  it('reads the same from UTF-8 text with a byte-order mark, and from an entry named in UTF-8', () => {
    const utf8 = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(exampleText, 'utf8')]);
    const zip = Buffer.from(zipSync({ 'x_20260301_业务明细.csv': utf8 }));
    assert.deepEqual(readAlipayStatement(zip, '2026-03-01'), exampleRows);
  });

  it('reads cells padded with spaces and a header with ASCII brackets, as some copies have them', () => {
    const spaced = exampleText
      .replaceAll('\t,', '    ,')
      .replaceAll('（', '(')
      .replaceAll('）', ')')
      .replaceAll('\r\n', '\n');
    assert.deepEqual(readText(spaced), exampleRows);
  });

  it('reads the header by name: columns in another order give the same rows', () => {
    const lines = exampleText.split('\r\n');
    const swap = (line: string) => {
      if (line.startsWith('#') || line === '') return line;
      const cells = line.split(',');
      [cells[1], cells[11]] = [cells[11] as string, cells[1] as string];
      [cells[21], cells[24]] = [cells[24] as string, cells[21] as string];
      return cells.join(',');
    };
    assert.deepEqual(readText(lines.map(swap).join('\r\n')), exampleRows);
  });

  it('a quoted cell holding commas and quotes is one cell', () => {
    const quoted = exampleText.replace(',小票,', ',"小票, 两张 ""A4""",');
    assert.deepEqual(readText(quoted), exampleRows);
  });

  it('a day without trades is a statement with no rows', () => {
    const empty = [...exampleLines.slice(0, 5), ...exampleLines.slice(10)]
      .join('\n')
      .replace('3笔', '0笔')
      .replace('2笔', '0笔');
    assert.deepEqual(readText(empty), []);
  });

  it('a 退款 under the own number (or none) reverses its 交易 only in the same file and in full', () => {
    const [pay, refund] = [exampleLines[8] as string, exampleLines[9] as string];
    const file = (rows: string[], pays: number, refunds: number) =>
      [...exampleLines.slice(0, 5), ...rows, ...exampleLines.slice(10)]
        .join('\n')
        .replace('3笔', `${pays}笔`)
        .replace('2笔', `${refunds}笔`);
    const noNumber = refund.replace('019b76daa80080d1fa571751\t,0.05', '\t,0.05');
    assert.deepEqual(
      readText(file([pay, noNumber], 1, 1)).map((r) => [r.kind, r.state, r.fee]),
      [['pay', 'reversed', 880]],
    );
    // The 交易 was the day before: a refund under the trade's own number.
    assert.deepEqual(
      readText(file([refund], 0, 1)).map((r) => [r.kind, r.out_refund_no, r.fee, r.state]),
      [['refund', '019b76daa80080d1fa571751', 880, 'refunded']],
    );
    const part = refund.replaceAll('-8.80', '-1.00');
    assert.deepEqual(
      readText(file([pay, part], 1, 1)).map((r) => [r.kind, r.state, r.fee]),
      [
        ['pay', 'paid', 880],
        ['refund', 'refunded', 100],
      ],
    );
  });

  it('a trade without 商户订单号 (taken outside the API) is named by its 支付宝交易号', () => {
    const rows = readText(exampleText.replace('019b76daa80080d1fa571750\t,', '\t,'));
    assert.equal(rows[2]?.out_trade_no, '2026030122001411110500000002');
  });

  describe('refuses what is not a whole statement (StatementError: fetched again, never half-read)', () => {
    const without = (i: number) => exampleLines.filter((_, at) => at !== i).join('\n');
    const cases: { name: string; text: string; message: RegExp }[] = [
      {
        name: 'a cut file (no end marker)',
        text: exampleLines.slice(0, 8).join('\n'),
        message: /end marker/,
      },
      { name: 'no 业务明细列表 marker', text: without(3), message: /markers/ },
      {
        name: 'a line after the end marker',
        text: `${exampleText}${exampleLines[7]}\n`,
        message: /outside the 业务明细列表/,
      },
      {
        name: '交易合计 not the number of 交易 lines',
        text: exampleText.replace('3笔', '4笔'),
        message: /交易合计 4笔 but 3/,
      },
      {
        name: '退款合计 not the number of 退款 lines',
        text: exampleText.replace('2笔', '1笔'),
        message: /退款合计 1笔 but 2/,
      },
      {
        name: 'a line of another width than the header',
        text: exampleText.replace(',备注一', ',备注一,extra'),
        message: /26 cells under a header of 25/,
      },
      {
        name: 'an unknown 业务类型',
        text: exampleText.replace('交易\t', '充值\t'),
        message: /业务类型 充值/,
      },
      {
        name: 'an amount past the fen',
        text: exampleText.replace(',0.01,0.01,', ',0.011,0.01,'),
        message: /订单金额/,
      },
      {
        name: 'a negative payment',
        text: exampleText.replace(',0.01,0.01,', ',-0.01,0.01,'),
        message: /订单金额/,
      },
      {
        name: 'a float in exponent form',
        text: exampleText.replace(',8.80,8.80,', ',8.8e0,8.80,'),
        message: /订单金额/,
      },
      {
        name: 'a 服务费 that is no amount',
        text: exampleText.replace(',-0.06,', ',-0.06x,'),
        message: /服务费/,
      },
      {
        name: 'a time that is no time',
        text: exampleText.replace('2026-03-01 09:15:03', '2026-02-30 09:15:03'),
        message: /完成时间/,
      },
      {
        name: '起始日期 of another day',
        text: exampleText.replace('2026年03月01日 00:00:00]', '2026年02月28日 00:00:00]'),
        message: /起始日期 2026-02-28/,
      },
      {
        name: 'no 退款批次号/请求号 column',
        text: exampleText.replace('退款批次号/请求号', 'x'),
        message: /退款批次号/,
      },
      {
        name: 'a quoted cell never closed',
        text: exampleText.replace(',小票,', ',"小票,'),
        message: /quote/,
      },
    ];
    for (const c of cases) {
      it(c.name, () => throwsStatement(() => readText(c.text), c.message));
    }
    it('a zip without a 业务明细 file, with two, or no zip at all', () => {
      const summaryOnly = gbkZip([
        { name: 'a_20260301_业务明细(汇总).csv', data: iconv.encode(summaryText, 'gbk') },
      ]);
      throwsStatement(() => readAlipayStatement(summaryOnly, '2026-03-01'), /no 业务明细 file/);
      const two = gbkZip([
        { name: 'a_业务明细.csv', data: iconv.encode(exampleText, 'gbk') },
        { name: 'b_业务明细.csv', data: iconv.encode(exampleText, 'gbk') },
      ]);
      throwsStatement(() => readAlipayStatement(two, '2026-03-01'), /more than one/);
      throwsStatement(() => readAlipayStatement(Buffer.from(exampleText), '2026-03-01'), /not a zip/);
      throwsStatement(() => readAlipayStatement(exampleZip().subarray(0, 60), '2026-03-01'), /zip/);
    });
  });

  it('statementFen (signed): yuan to fen by string arithmetic, a minus sign kept, zeros past the fen allowed', () => {
    const good: [string, number][] = [
      ['0', 0],
      ['0.00', 0],
      ['-0.00', 0],
      ['0.01', 1],
      ['-35.80', -3580],
      ['8.8', 880],
      ['0.0600', 6],
      ['100000000.00', maxFen],
      ['-100000000.00', -maxFen],
    ];
    for (const [text, fen] of good) assert.equal(statementFen(text, true), fen, text);
    for (const text of ['', '-', '0.001', '1e2', '.5', '1.', ' 1', '+1.00', '100000000.01', '1,000.00']) {
      assert.equal(statementFen(text, true), undefined, text);
    }
  });

  it('fenToYuan and statementFen agree on every amount, either sign (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: maxFen }), fc.boolean(), (fen, negative) => {
        assert.equal(
          statementFen(`${negative ? '-' : ''}${fenToYuan(fen)}`, true),
          negative && fen !== 0 ? -fen : fen,
        );
      }),
    );
  });

  it("every amount exact to the fen: random ledgers round-trip through the sandbox's zip (property)", () => {
    const day = Date.UTC(2026, 2, 1) - 8 * 3600_000; // 2026-03-01 00:00 UTC+8
    const entry = fc.record({
      kind: fc.constantFrom('pay', 'refund'),
      fee: fc.integer({ min: 1, max: maxFen }),
      second: fc.integer({ min: 0, max: 86_399 }),
      subject: fc.string({ maxLength: 12 }),
    });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 10 }), (drawn) => {
        const entries: AlipayBillEntry[] = drawn.map((d, i) => ({
          kind: d.kind as 'pay' | 'refund',
          sellerId: '2088000000000001',
          tradeNo: `20260301220014${String(i).padStart(14, '0')}`,
          outTradeNo: `o${i}`,
          subject: d.subject,
          createdAt: day,
          completedAt: day + d.second * 1000,
          fee: d.fee,
          ...(d.kind === 'refund' ? { requestNo: `r${i}` } : {}),
        }));
        const zip = alipayBillZip(entries, {
          account: '20880000000000010156',
          day: '2026-03-01',
          exportedAt: day + 86_400_000,
        });
        const rows = readAlipayStatement(zip, '2026-03-01');
        const got = rows
          .map((r) => `${r.kind}:${r.out_refund_no ?? r.out_trade_no}:${r.fee}:${r.time}`)
          .sort();
        const want = entries
          .map(
            (e) =>
              `${e.kind}:${e.requestNo ?? e.outTradeNo}:${e.fee}:${new Date(e.completedAt).toISOString()}`,
          )
          .sort();
        assert.deepEqual(got, want);
        // 服务费 too: 0.60% rounded to the fen, charged on a payment and given back with a refund.
        for (const r of rows) {
          const fee = Math.floor((r.fee * 6 + 500) / 1000);
          assert.equal(r.service_fee, r.kind === 'pay' ? fee : fee === 0 ? 0 : -fee);
        }
      }),
      { numRuns: 150 },
    );
  });
});

const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const alipayKeys = rsa();
const strangerKeys = rsa();
const billKey = `${alipayBillMethod.replaceAll('.', '_')}_response`;

/** An answer to downloadurl.query as Alipay sends it, signed over the node as sent (or not, or by another key). */
function billAnswer(
  node: Record<string, unknown>,
  signWith: KeyObject | null = alipayKeys.privateKey,
): CallOutcome {
  const raw = JSON.stringify(node);
  const sign = signWith ? `,"sign":${JSON.stringify(rsa2Sign(raw, signWith))}` : '';
  return { kind: 'answer', text: `{"${billKey}":${raw}${sign}}` };
}
const urlNode = {
  code: '10000',
  msg: 'Success',
  bill_download_url:
    'https://dwbillcenter.alipay.com/downloadBillFile.resource?bizType=trade&userId=20880211000000000156&fileType=csv.zip&bizDates=20260301&token=abc',
};
const notThere = (subCode: string) => ({
  code: '40004',
  msg: 'Business Failed',
  sub_code: subCode,
  sub_msg: '账单不存在',
});

describe('the download-URL answer: only a verified answer says anything', () => {
  const cases: { name: string; outcome: CallOutcome; want: unknown }[] = [
    {
      name: 'a signed 10000 with its URL',
      outcome: billAnswer(urlNode),
      want: { kind: 'url', url: urlNode.bill_download_url },
    },
    {
      name: 'isp.bill_not_exist, signed',
      outcome: billAnswer(notThere('isp.bill_not_exist')),
      want: { kind: 'not_published', said: 'isp.bill_not_exist' },
    },
    {
      name: "BILL_NOT_EXIST (the document's English edition)",
      outcome: billAnswer(notThere('BILL_NOT_EXIST')),
      want: { kind: 'not_published', said: 'BILL_NOT_EXIST' },
    },
    {
      name: 'isp.bill_not_exist unsigned',
      outcome: billAnswer(notThere('isp.bill_not_exist'), null),
      want: { kind: 'unknown', said: 'UNSIGNED' },
    },
    {
      name: 'a URL signed by another key',
      outcome: billAnswer(urlNode, strangerKeys.privateKey),
      want: { kind: 'unknown', said: 'BAD_SIGNATURE' },
    },
    {
      name: 'a URL whose node was changed after signing',
      outcome: (() => {
        const signed = billAnswer(urlNode);
        return signed.kind === 'answer'
          ? { kind: 'answer', text: signed.text.replace('token=abc', 'token=abd') }
          : signed;
      })() as CallOutcome,
      want: { kind: 'unknown', said: 'BAD_SIGNATURE' },
    },
    {
      name: 'a 10000 without a URL',
      outcome: billAnswer({ code: '10000', msg: 'Success' }),
      want: { kind: 'unknown', said: 'NO_BILL_DOWNLOAD_URL' },
    },
    {
      name: 'a 10000 whose URL is no http URL',
      outcome: billAnswer({ ...urlNode, bill_download_url: 'file:///etc/passwd' }),
      want: { kind: 'unknown', said: 'NO_BILL_DOWNLOAD_URL' },
    },
    {
      name: 'another business error',
      outcome: billAnswer(notThere('INVAILID_ARGUMENTS')),
      want: { kind: 'unknown', said: 'INVAILID_ARGUMENTS' },
    },
    {
      name: 'no answer in time',
      outcome: { kind: 'none', said: 'TIMEOUT' },
      want: { kind: 'unknown', said: 'TIMEOUT' },
    },
    {
      name: 'not JSON',
      outcome: { kind: 'answer', text: '<html>' },
      want: { kind: 'unknown', said: 'MALFORMED' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(readBillUrlAnswer(c.outcome, alipayKeys.publicKey), c.want));
  }
  it('without Alipay public key nothing is proven', () => {
    assert.deepEqual(readBillUrlAnswer(billAnswer(urlNode), undefined), {
      kind: 'unknown',
      said: 'NO_ALIPAY_PUBLIC_KEY',
    });
  });
});

/** The client's call and ChannelHttp stand-ins: the call answers `answer`, the GET answers `file`. */
function fakes(answer: CallOutcome, file: DownloadOutcome) {
  const calls: { method: string; deadlineMs: number; biz: AlipayBiz }[] = [];
  const gets: { target: string; options: PostOptions }[] = [];
  const call = async (_ctx: ChannelContext, method: string, deadlineMs: number, biz: AlipayBiz) => {
    calls.push({ method, deadlineMs, biz });
    return answer;
  };
  const http = {
    async fetchFile(target: string, options: PostOptions) {
      gets.push({ target, options });
      return file;
    },
  } as unknown as ChannelHttp;
  const statements = alipayStatements(call, () => alipayKeys.publicKey, http);
  return { statements, calls, gets };
}
const ctx = (account: Record<string, string> = {}): ChannelContext => ({
  account: { app_id: '2021000000000001', seller_id: '2088021100000000', ...account },
  credentials: {},
});
const zipFile = (zip = exampleZip()): DownloadOutcome => ({ kind: 'answer', bytes: zip });

describe('fetching Alipay statements', () => {
  it('is the statements of the channel the Alipay descriptor makes, naming its document', () => {
    const channel = alipay.create({ url: 'https://openapi.alipay.com/gateway.do', http: {} as ChannelHttp });
    assert.match(channel.statements?.source ?? '', /alipay\.data\.dataservice\.bill\.downloadurl\.query/);
    assert.equal(channel.statements?.accountOf(ctx()), '2021000000000001/2088021100000000');
    assert.equal(channel.statements?.accountOf(ctx({ seller_id: '' })), '2021000000000001');
  });

  it("asks for the day's trade statement, then GETs its URL at once: the zip exactly as fetched, and its rows", async () => {
    const zip = exampleZip();
    const { statements, calls, gets } = fakes(billAnswer(urlNode), zipFile(zip));
    const got = await statements.fetch(ctx(), '2026-03-01', 5000);
    assert.deepEqual(calls, [
      { method: alipayBillMethod, deadlineMs: 5000, biz: { bill_type: 'trade', bill_date: '2026-03-01' } },
    ]);
    assert.equal(gets[0]?.target, urlNode.bill_download_url);
    assert.equal(gets[0]?.options.maxResponseBytes, maxStatementBytes);
    assert.ok((gets[0]?.options.deadlineMs ?? 0) <= 5000 && (gets[0]?.options.deadlineMs ?? 0) > 4000);
    assert.equal(got.kind, 'published');
    assert.ok(got.kind === 'published' && got.raw.equals(zip));
    assert.deepEqual(got.kind === 'published' && got.rows, exampleRows);
    assert.deepEqual(statements.read(zip, '2026-03-01'), exampleRows);
  });

  const results: { name: string; answer: CallOutcome; file: DownloadOutcome; want: RegExp; kind: string }[] =
    [
      {
        name: 'a statement not made yet',
        answer: billAnswer(notThere('isp.bill_not_exist')),
        file: zipFile(),
        kind: 'not_published',
        want: /^isp\.bill_not_exist$/,
      },
      {
        name: 'an unverified URL: nothing fetched',
        answer: billAnswer(urlNode, strangerKeys.privateKey),
        file: zipFile(),
        kind: 'unknown',
        want: /^BAD_SIGNATURE$/,
      },
      {
        name: 'a URL that no longer serves the file',
        answer: billAnswer(urlNode),
        file: { kind: 'none', said: 'HTTP_404' },
        kind: 'unknown',
        want: /^DOWNLOAD_HTTP_404$/,
      },
      {
        name: 'a file that is not the statement',
        answer: billAnswer(urlNode),
        file: { kind: 'answer', bytes: Buffer.from('<html>expired</html>') },
        kind: 'unknown',
        want: /^MALFORMED:not a zip/,
      },
      {
        name: "another seller's statement",
        answer: billAnswer(urlNode),
        file: zipFile(exampleZip(exampleText.replace('20880211000000000156', '20889999999999990156'))),
        kind: 'unknown',
        want: /^NOT_THIS_ACCOUNT:20889999999999990156$/,
      },
    ];
  for (const c of results) {
    it(`${c.name}: ${c.kind}`, async () => {
      const { statements, gets } = fakes(c.answer, c.file);
      const got = await statements.fetch(ctx(), '2026-03-01', 5000);
      assert.equal(got.kind, c.kind);
      assert.match(got.kind === 'published' ? '' : got.said, c.want);
      if (c.answer.kind === 'answer' && !c.answer.text.includes('bill_download_url'))
        assert.equal(gets.length, 0);
    });
  }

  it('a bill date that is no date asks nothing', async () => {
    const { statements, calls } = fakes(billAnswer(urlNode), zipFile());
    assert.deepEqual(await statements.fetch(ctx(), '2026-02-30', 5000), {
      kind: 'unknown',
      said: 'BAD_BILL_DATE',
    });
    assert.equal(calls.length, 0);
  });

  it('without a seller_id on the route, the file is not checked against an account', async () => {
    const { statements } = fakes(billAnswer(urlNode), zipFile());
    assert.equal((await statements.fetch(ctx({ seller_id: '' }), '2026-03-01', 5000)).kind, 'published');
  });
});

describe("the Alipay sandbox's statement (sandbox/alipay-bill.ts)", () => {
  const now = Date.UTC(2026, 2, 1, 4); // 2026-03-01 12:00 UTC+8

  it('publishes a day once it is over; today only at once; never a day to come', () => {
    const notExist = { kind: 'refused', subCode: 'isp.bill_not_exist', subMsg: '账单不存在' };
    const query = (billDate: string, atOnce = false) =>
      billUrlQuery({ bill_type: 'trade', bill_date: billDate }, now, atOnce);
    assert.deepEqual(query('2026-02-28'), { kind: 'url', day: '2026-02-28' });
    assert.deepEqual(query('2026-03-01'), notExist);
    assert.deepEqual(query('2026-03-01', true), { kind: 'url', day: '2026-03-01' });
    assert.deepEqual(query('2026-03-02', true), notExist);
    for (const biz of [{ bill_date: '2026-02-28' }, { bill_type: 'signcustomer', bill_date: '2026-02-28' }]) {
      assert.equal((billUrlQuery(biz, now, true) as { subCode?: string }).subCode, 'INVAILID_ARGUMENTS');
    }
    for (const billDate of ['2026-02', '2026-02-30', '20260228', '']) {
      assert.equal((query(billDate, true) as { subCode?: string }).subCode, 'INVAILID_ARGUMENTS', billDate);
    }
  });

  it('lists trades paid, refunds made, and a paid trade a cancel gave back; never an unpaid trade', () => {
    const trade = (outTradeNo: string, paidAt: number | undefined, extra: Record<string, unknown> = {}) => ({
      outTradeNo,
      tradeNo: `2026030122001400000000000${outTradeNo}`,
      totalAmount: '10.00',
      biz: { subject: 'goods', store_id: 'S1' },
      sellerId: '2088000000000001',
      createdAt: now - 7200_000,
      paidAt,
      ...extra,
    });
    const refund = (
      outRequestNo: string,
      fee: number,
      state: 'SUCCESS' | 'PROCESSING',
      refundedAt?: number,
    ) => ({
      outTradeNo: '1',
      outRequestNo,
      fee,
      state,
      sends: 1,
      queries: 0,
      refundedAt,
    });
    const ledger = alipayLedger(
      [
        trade('1', now - 3600_000),
        trade('2', undefined),
        trade('3', now - 1800_000, { cancelRefundedAt: now - 1700_000 }),
        trade('4', undefined, { tradeNo: undefined }),
      ],
      (outTradeNo) =>
        outTradeNo === '1'
          ? [refund('r1', 300, 'SUCCESS', now - 600_000), refund('r2', 100, 'PROCESSING')]
          : [],
    );
    assert.deepEqual(
      ledger.map((e) => [e.kind, e.outTradeNo, e.requestNo, e.fee, e.completedAt]),
      [
        ['pay', '1', undefined, 1000, now - 3600_000],
        ['refund', '1', 'r1', 300, now - 600_000],
        ['pay', '3', undefined, 1000, now - 1800_000],
        ['refund', '3', '3', 1000, now - 1700_000],
      ],
    );
  });

  it('a download URL works for 30 seconds, for its seller and day only', () => {
    const desk = new AlipayBillDesk();
    const entry = (sellerId: string, completedAt: number): AlipayBillEntry => ({
      kind: 'pay',
      sellerId,
      tradeNo: '2026030122001400000000000001',
      outTradeNo: `o-${sellerId}-${completedAt}`,
      subject: 'goods',
      createdAt: completedAt,
      completedAt,
      fee: 101,
    });
    const ledger = [
      entry('2088000000000001', now),
      entry('2088000000000001', now - 86_400_000),
      entry('2088000000000002', now),
    ];
    const url = new URL(desk.urlFor('https://127.0.0.1:1', '2088000000000001', '2026-03-01', now));
    assert.equal(url.pathname, '/downloadBillFile.resource');
    assert.equal(url.searchParams.get('downloadFileName'), '20880000000000010156_20260301.csv.zip');
    const zip = desk.download(url.searchParams, ledger, now + billUrlLifetimeMs);
    assert.ok(zip);
    const bill = readAlipayBill(zip, '2026-03-01');
    assert.equal(bill.account, '20880000000000010156');
    assert.deepEqual(
      bill.rows.map((r) => r.out_trade_no),
      [`o-2088000000000001-${now}`],
    );
    assert.equal(desk.download(url.searchParams, ledger, now + billUrlLifetimeMs + 1), undefined);
    url.searchParams.set('token', 'guessed');
    assert.equal(desk.download(url.searchParams, ledger, now), undefined);
  });
});
