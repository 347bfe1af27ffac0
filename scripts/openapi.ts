import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { toJSONSchema } from 'zod';
import type * as z from 'zod/mini';
import { maxBodyBytes, maxNesting } from '#core/api/handler.ts';
import { micropayRequest, orderRequest, refundQueryRequest, refundRequest } from '#core/api/requests.ts';
import { envelope, orderView, refundList, refundView } from '#core/api/responses.ts';
import { ApiCode } from '#core/errors.ts';
import { sandboxOutcomes, sandboxRefundOutcomes } from '#sandbox/outcomes.ts';

/** Where the document is committed; `npm test` checks it is what this script makes. */
export const openApiPath = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));

/** What each API code means (SPEC section 2). */
const codeMeanings: Readonly<Record<number, string>> = {
  [ApiCode.ok]: 'handled; see `data` (the payment itself: `data.trade_state`)',
  [ApiCode.invalidParameter]: 'a parameter is missing or malformed; `msg` names the field and what is wrong',
  [ApiCode.badSignature]: 'signature does not verify',
  [ApiCode.duplicateMismatch]:
    '`mch_trade_id` (or `out_refund_no`) already used with different parameters (amount, auth_code, pay_type, order, …)',
  [ApiCode.refundNotAllowed]:
    'the refund is not allowed: `refund_fee` exceeds what is left to refund (`msg` says how many fen), the order already has 50 refunds, or it was paid more than 365 days ago',
  [ApiCode.merchantNotFound]: 'merchant does not exist (`merchant_id`); the answer is unsigned',
  [ApiCode.merchantInactive]: 'merchant status is not active (status ≠ 0)',
  [ApiCode.payTypeNotEnabled]: 'merchant is not enabled for this `pay_type`',
  [ApiCode.orderNotFound]: 'order does not exist (for `/v1/refund/query`: the refund does not exist)',
  [ApiCode.orderStateConflict]: "the order's state does not allow this operation",
  [ApiCode.channelRefused]:
    "the channel refused the payment (`data.trade_state` 7) or the refund (`data.refund_state` 2); `err_code`/`err_msg` carry the channel's code and text",
  [ApiCode.channelTimeout]:
    'the channel did not answer in time; the outcome is being settled automatically; `data.trade_state` is 6 (for a refund `data.refund_state` is 1), `need_query` is `Y`',
  [ApiCode.internal]: 'internal error; nothing internal is revealed; the order (if any) is still settled',
};

const tradeStates =
  '`trade_state`: 0 paid · 1 refund · 2 not paid · 3 closed · 4 reversed (冲正/已撤销) · 5 reversing · 6 paying (outcome not final yet) · 7 failed.';

/** Descriptions of request and answer fields (the schemas carry types and limits). */
const fieldDocs: Readonly<Record<string, string>> = {
  merchant_id: "the merchant's id",
  version: 'API version, `1.0` when absent',
  sign_type: '`MD5` (default) or `HMAC-SHA256`, case-insensitive',
  nonce_str: 'a random string, at most 32 characters',
  sign: 'the signature (see the API description), upper-case hex',
  pay_type: '`wechat.micro` or `alipay.micro`',
  mch_trade_id: "the merchant's order id: with `merchant_id` it names one order forever",
  body: 'goods description; at most 128 bytes of UTF-8 (as WeChat counts)',
  subject: 'order title (Alipay); `body` when absent',
  total_fee: 'amount in fen (integer > 0)',
  fee_type:
    "currency (ISO 4217); the merchant's route's currency when absent (CNY, or HKD through BlueOcean)",
  spbill_create_ip: "the POS's IP address",
  auth_code:
    "the shopper's payment code: WeChat 18 digits starting 10–15; Alipay 16–24 digits starting 25–30. Never stored unmasked. In the sandbox its last two digits choose the outcome",
  device_info: 'terminal id; at most 32 bytes of UTF-8',
  attach: 'merchant data returned as it was sent; at most 127 bytes of UTF-8',
  time_start: 'epoch seconds (10 digits); 13-digit milliseconds are refused with a message that says so',
  time_expire: 'epoch seconds (10 digits), later than `time_start`',
  op_user_id: 'operator',
  store_id: 'store',
  op_device_id: 'device',
  goods_tag: 'goods tag (discounts); at most 32 bytes of UTF-8',
  scene: '`bar_code` (default) or `wave_code`',
  settle_type: '1 (default) or 0 (D0 settlement)',
  trade_id: "the gateway's order id: 24 lower-case hex characters, time-ordered",
  ch_trade_id: "the order's id at the channel that carried it",
  out_trade_id: "the payment method's own order number (WeChat `transaction_id`, Alipay `trade_no`)",
  trade_state: tradeStates,
  need_query:
    '`Y` while the outcome is not final: query again (the gateway settles the order by itself either way)',
  time_end: 'epoch seconds the channel says the payment completed',
  cash_fee: 'paid in cash, fen',
  coupon_fee: 'paid by coupons, fen',
  buyer_pay_amount: 'Alipay: what the buyer paid, yuan',
  invoice_amount: 'Alipay: invoiceable amount, yuan',
  point_amount: 'Alipay: paid with points, yuan',
  receipt_amount: 'Alipay: what the merchant receives, yuan',
  fund_bill_list: 'Alipay: how the buyer paid (JSON text, as Alipay gives it)',
  refunded_fee: 'fen refunded so far (refunds that succeeded), 0 when none',
  out_refund_no:
    "the merchant's refund number (5–64 characters of letters, digits and `_ - | * @`): with `merchant_id` it names one refund forever",
  refund_fee: 'amount to refund in fen (integer > 0); at most what is left to refund',
  refund_desc: 'why (shown to the shopper where the channel shows it); at most 80 bytes of UTF-8',
  refund_id:
    "the gateway's refund id: 24 lower-case hex characters, time-ordered; also the refund number the channel knows",
  ch_refund_id: "the channel's refund id, once known",
  refund_state:
    '0 refunded · 1 processing (`need_query` Y; the gateway follows it) · 2 failed (nothing refunded; the amount can be refunded again) · 3 abnormal (the channel could not return the money to the shopper: a person must act)',
  refund_time: 'epoch seconds the refund succeeded',
  refunds: 'every refund of the order, oldest first',
  err_code: "the channel's error code (code 600)",
  err_msg: "the channel's error text (code 600)",
  code: Object.entries(codeMeanings)
    .map(([code, meaning]) => `${code}: ${meaning}`)
    .join('; '),
  msg: 'null on success; otherwise what is wrong, naming the field',
};

type JsonSchema = Record<string, unknown> & { properties?: Record<string, JsonSchema> };

function schemaOf(schema: z.ZodMiniType, io: 'input' | 'output'): JsonSchema {
  const json = toJSONSchema(schema as never, {
    io,
    target: 'draft-2020-12',
    unrepresentable: 'any',
  }) as JsonSchema;
  delete json.$schema;
  for (const [name, property] of Object.entries(json.properties ?? {})) {
    const description = fieldDocs[name];
    if (description) property.description = description;
  }
  return json;
}

function markdownTable(head: string[], rows: string[][]): string {
  return [head, head.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
}

/** The OpenAPI 3.1 document of the merchant API, made from the request and answer schemas. */
export function buildOpenApi(): Record<string, unknown> {
  const answer = (description: string, examples: Record<string, unknown> = {}) => ({
    200: {
      description,
      content: {
        'application/json': {
          schema: { $ref: '#/components/schemas/Envelope' },
          ...(Object.keys(examples).length ? { examples } : {}),
        },
      },
    },
    429: { description: 'API Gateway throttled the route (per-route limits); retry the same request later' },
  });
  const example = (code: number, tradeState: number | undefined, msg: string | null) => ({
    value: {
      code,
      msg,
      ...(tradeState === undefined
        ? {}
        : {
            data: {
              merchant_id: 'M100000001',
              pay_type: 'wechat.micro',
              mch_trade_id: 'pos-20261201-0001',
              trade_id: '692d5a2f8f2b5c0e1d3a4b6c',
              total_fee: 101,
              trade_state: tradeState,
              need_query: tradeState === 6 || tradeState === 5 ? 'Y' : 'N',
              fee_type: 'CNY',
              refunded_fee: 0,
            },
          }),
      version: '1.0',
      sign_type: 'MD5',
      sign: '9A0A8659F005D6984697E2CA0A9CF3B7',
    },
  });
  const outcomeExamples = Object.fromEntries(
    sandboxOutcomes.map((o) => [
      `sandbox-${o.suffix}`,
      {
        summary: `sandbox auth_code …${o.suffix}: ${o.does}`,
        ...example(
          o.submitCode,
          o.submitTradeState,
          o.submitCode === 0 ? null : (codeMeanings[o.submitCode] ?? null),
        ),
      },
    ]),
  );
  const codeExamples = Object.fromEntries(
    Object.entries(codeMeanings)
      .filter(([code]) => code !== '0')
      .map(([code, meaning]) => [
        `code-${code}`,
        {
          summary: `${code}: ${meaning.split(';')[0]}`,
          ...example(
            Number(code),
            Number(code) === 600 ? 7 : Number(code) === 601 ? 6 : undefined,
            meaning.split(';')[0] ?? null,
          ),
        },
      ]),
  );
  const sandboxTable = markdownTable(
    ['auth_code ends in', 'the channel does', 'submit answers', 'final trade_state'],
    sandboxOutcomes.map((o) => [o.suffix, o.does, `code ${o.submitCode}`, String(o.finalTradeState)]),
  );
  const refundExample = (code: number, refundState: number, msg: string | null) => ({
    value: {
      code,
      msg,
      data: {
        merchant_id: 'M100000001',
        trade_id: '692d5a2f8f2b5c0e1d3a4b6c',
        mch_trade_id: 'pos-20261201-0001',
        refund_id: '692d5b118c1e0f2a3b4c5d6e',
        out_refund_no: 'rf-20261201-0001',
        refund_fee: 100,
        total_fee: 1000,
        refunded_fee: refundState === 0 ? 100 : 0,
        refund_state: refundState,
        need_query: refundState === 1 ? 'Y' : 'N',
      },
      version: '1.0',
      sign_type: 'MD5',
      sign: '9A0A8659F005D6984697E2CA0A9CF3B7',
    },
  });
  const refundExamples = Object.fromEntries(
    sandboxRefundOutcomes.map((o) => [
      `sandbox-refund-${o.suffix}`,
      {
        summary: `sandbox refund_fee …${o.suffix}: ${o.does}`,
        ...refundExample(0, o.finalRefundState, null),
      },
    ]),
  );
  const refundTable = markdownTable(
    ['refund_fee ends in', 'the channel does', 'final refund_state'],
    sandboxRefundOutcomes.map((o) => [o.suffix, o.does, String(o.finalRefundState)]),
  );
  const request = (ref: string) => ({
    required: true,
    content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
  });
  return {
    openapi: '3.1.0',
    info: {
      title: 'Micropay gateway merchant API',
      version: '1.0.0',
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
      description: [
        'Barcode payments (付款码, reverse scan) for WeChat Pay and Alipay. JSON over HTTPS, `POST`, UTF-8.',
        `Bodies are at most ${maxBodyBytes / 1024} KiB and nested at most ${maxNesting} levels. A field sent as \`null\` or \`""\` is not given.`,
        '',
        '**Signing** (the WeChat Pay v2 rule): take every top-level field except `sign` whose value is not empty or null (an object is written as JSON with its keys sorted and no spaces), sort by name, join `name=value` with `&`, append `&key=<merchant key>`, then MD5 (or HMAC-SHA256 keyed with the merchant key), upper-case hex. Every answer is signed the same way with the same key, except answers about an unknown merchant.',
        '',
        '**Answers** always have HTTP status 200 and an envelope whose `code` says whether the request was handled:',
        '',
        markdownTable(
          ['code', 'meaning'],
          Object.entries(codeMeanings).map(([code, meaning]) => [code, meaning]),
        ),
        '',
        tradeStates,
        '',
        '**Idempotency**: `merchant_id` + `mch_trade_id` names one order forever; the same submit again returns its current state and never charges twice; different parameters under the same id get 102.',
        '',
        '**Sandbox** (local mode, `npm start`): the last two digits of `auth_code` choose what the channel does, on every channel:',
        '',
        sandboxTable,
      ].join('\n'),
    },
    servers: [
      { url: 'http://127.0.0.1:3000', description: 'local mode (`npm start`)' },
      {
        url: 'https://{apiId}.execute-api.{region}.amazonaws.com',
        description: "a region's deployed gateway (stack output `Url`)",
        variables: { apiId: { default: 'abcdef1234' }, region: { default: 'ap-east-1' } },
      },
    ],
    tags: [
      { name: 'payments', description: 'Barcode payments and their orders' },
      { name: 'refunds', description: 'Refunds of paid orders (退款)' },
    ],
    // Requests are authenticated by their signature (see above), not by an HTTP security scheme.
    security: [],
    paths: {
      '/v1/micropay': {
        post: {
          operationId: 'micropay',
          tags: ['payments'],
          summary: 'Submit a barcode payment',
          description: `Records the order, submits it to the channel that serves the merchant's \`pay_type\`, and settles anything not final by itself (query, then reverse). Sandbox outcomes by the last two digits of \`auth_code\`:\n\n${sandboxTable}`,
          requestBody: request('MicropayRequest'),
          responses: answer(
            'The order as it is after this request (codes 0, 600, 601), or why the request was refused',
            {
              ...outcomeExamples,
              ...codeExamples,
            },
          ),
        },
      },
      '/v1/query': {
        post: {
          operationId: 'query',
          tags: ['payments'],
          summary: 'Query one order',
          description: 'One order, by `trade_id` or `mch_trade_id` (both given: `trade_id` wins).',
          requestBody: request('OrderRequest'),
          responses: answer('The order, or why the request was refused (e.g. 301)'),
        },
      },
      '/v1/reverse': {
        post: {
          operationId: 'reverse',
          tags: ['payments'],
          summary: 'Cancel an order (撤销)',
          description:
            "Closes the order if unpaid, returns the money if paid. Accepted at once (`trade_state` 5) and carried out by settlement, which respects the channel's rules (e.g. not before 15 s after pay); query for the result. A failed or closed order answers 302; reversing a REVERSE_FAILED order runs the reverse schedule again.",
          requestBody: request('OrderRequest'),
          responses: answer('The order as it is after this request, or why the request was refused'),
        },
      },
      '/v1/refund': {
        post: {
          operationId: 'refund',
          tags: ['refunds'],
          summary: 'Refund all or part of a paid order',
          description: `Reserves the amount and sends the refund to the channel under a refund number of the gateway's own (the \`refund_id\`), the same for every retry, then follows it until final (for 72 hours and more where the channel keeps it processing). \`merchant_id\` + \`out_refund_no\` names one refund forever: the same request again returns its state; another order or amount under the number is 102. An order with refunds is no longer reversed (302), nor is one past its channel's reverse window (WeChat 7 days, Alipay the day of payment). A route whose channel documents no refund answers 202. Sandbox outcomes by the last two digits of \`refund_fee\`:\n\n${refundTable}`,
          requestBody: request('RefundRequest'),
          responses: answer(
            'The refund as it is after this request (codes 0, 600, 601), or why it was refused',
            {
              ...refundExamples,
              'code-600': {
                summary: '600: the channel refused the refund',
                ...refundExample(600, 2, 'the channel refused the refund: NOTENOUGH'),
              },
              'code-601': {
                summary: '601: the channel did not answer in time',
                ...refundExample(601, 1, codeMeanings[601] ?? null),
              },
            },
          ),
        },
      },
      '/v1/refund/query': {
        post: {
          operationId: 'refundQuery',
          tags: ['refunds'],
          summary: 'Query one refund, or every refund of an order',
          description:
            'One refund by `refund_id` or `out_refund_no`; or, given only the order (`trade_id` / `mch_trade_id`), every refund of it in `data.refunds`, oldest first. A refund that does not exist is 301.',
          requestBody: request('RefundQueryRequest'),
          responses: answer('The refund or the refunds, or why the request was refused'),
        },
      },
    },
    components: {
      schemas: {
        MicropayRequest: schemaOf(micropayRequest, 'input'),
        OrderRequest: {
          ...schemaOf(orderRequest, 'input'),
          description: '`trade_id` or `mch_trade_id` is required (both given: `trade_id` wins)',
        },
        RefundRequest: {
          ...schemaOf(refundRequest, 'input'),
          description: '`trade_id` or `mch_trade_id` is required (both given: `trade_id` wins)',
        },
        RefundQueryRequest: {
          ...schemaOf(refundQueryRequest, 'input'),
          description: 'one of `refund_id`, `out_refund_no`, `trade_id` or `mch_trade_id` is required',
        },
        Envelope: {
          ...schemaOf(envelope, 'output'),
          properties: {
            ...schemaOf(envelope, 'output').properties,
            data: {
              oneOf: [
                { $ref: '#/components/schemas/Order' },
                { $ref: '#/components/schemas/Refund' },
                { $ref: '#/components/schemas/RefundList' },
              ],
            },
          },
        },
        Order: schemaOf(orderView, 'output'),
        Refund: schemaOf(refundView, 'output'),
        RefundList: {
          ...schemaOf(refundList, 'output'),
          properties: {
            ...schemaOf(refundList, 'output').properties,
            refunds: {
              type: 'array',
              items: { $ref: '#/components/schemas/Refund' },
              description: fieldDocs.refunds,
            },
          },
        },
      },
    },
  };
}

/** The document as committed: stable key order, two-space indent, final newline. */
export function renderOpenApi(): string {
  return `${JSON.stringify(buildOpenApi(), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(openApiPath, renderOpenApi());
  console.log(`wrote ${openApiPath}`);
}
