import {
  createHash,
  createHmac,
  createSecretKey,
  type KeyObject,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { createServer, Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createSecureContext, rootCertificates } from 'node:tls';

/**
 * The floor the gateway's API process is measured against: the irreducible work of one barcode payment
 * done with raw HTTP and no SDK, on the same DynamoDB Local tables and WeChat sandbox. It verifies the
 * request's MD5 signature, writes the wake-up and the order (conditional put), calls the sandbox's
 * /pay/micropay with signed XML, writes the answer (conditional update) and answers a signed envelope; its
 * DynamoDB requests are signed (Signature V4) as DynamoDB requires. It
 * skips what the gateway does beyond that: validation, idempotent replays, answer verification, retries,
 * telemetry, logging. Configured by the environment the bench passes; prints `{"url": …}` when listening.
 */
const env = process.env;
const dynamo = new URL(env.FLOOR_DYNAMODB_URL ?? '');
const sandbox = new URL(env.FLOOR_WECHAT_URL ?? '');
const merchantKey = env.FLOOR_MERCHANT_KEY ?? '';
const wechat = {
  appid: env.FLOOR_APPID ?? '',
  mch_id: env.FLOOR_MCH_ID ?? '',
  key: env.FLOOR_WECHAT_KEY ?? '',
};
const tables = { orders: env.FLOOR_ORDERS_TABLE ?? '', wakeups: env.FLOOR_WAKEUPS_TABLE ?? '' };
const dynamoAgent = new HttpAgent({ keepAlive: true });
const sandboxAgent = new HttpsAgent({
  keepAlive: true,
  secureContext: createSecureContext({ ca: [...rootCertificates, env.FLOOR_CA_PEM ?? ''] }),
});

function md5Sign(fields: Record<string, unknown>, key: string): string {
  const text = Object.keys(fields)
    .filter((k) => k !== 'sign' && fields[k] !== undefined && fields[k] !== null && fields[k] !== '')
    .sort()
    .map((k) => `${k}=${typeof fields[k] === 'object' ? JSON.stringify(fields[k]) : String(fields[k])}`)
    .join('&');
  return createHash('md5').update(`${text}&key=${key}`, 'utf8').digest('hex').toUpperCase();
}

/**
 * One POST on a keep-alive connection. A request sent on a reused connection that the server had closed meanwhile
 * (reset before any answer) is sent once more on a new one, as Node's documentation advises: the bench's turns
 * leave each server idle for seconds, longer than a pooled connection may live.
 */
function post(url: URL, agent: HttpAgent, headers: Record<string, string>, body: string): Promise<string> {
  return postOnce(url, agent, headers, body).catch((error: NodeJS.ErrnoException & { reused?: boolean }) => {
    if (error.reused && error.code === 'ECONNRESET') return postOnce(url, agent, headers, body);
    throw error;
  });
}

function postOnce(
  url: URL,
  agent: HttpAgent,
  headers: Record<string, string>,
  body: string,
): Promise<string> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      },
    );
    req.on('error', (error) => reject(Object.assign(error, { reused: req.reusedSocket })));
    req.end(body);
  });
}

/**
 * Signature V4, as DynamoDB requires of any client (DynamoDB Local does not check it, so an unsigned floor would
 * skip work no deployable server can): the canonical request's and body's SHA-256, one HMAC with the day's key.
 */
const secret = env.AWS_SECRET_ACCESS_KEY ?? 'local';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const hmac = (key: string | Buffer, text: string) => createHmac('sha256', key).update(text).digest();
let dayKey: { date: string; key: KeyObject } | undefined;
function dynamoHeaders(operation: string, body: string): Record<string, string> {
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
  const date = amzDate.slice(0, 8);
  if (dayKey?.date !== date) {
    const derived = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), 'us-east-1'), 'dynamodb'), 'aws4_request');
    dayKey = { date, key: createSecretKey(derived) };
  }
  const headers: Record<string, string> = {
    'content-type': 'application/x-amz-json-1.0',
    host: dynamo.host,
    'x-amz-date': amzDate,
    'x-amz-target': `DynamoDB_20120810.${operation}`,
  };
  const names = Object.keys(headers).sort();
  const canonical = `POST\n/\n\n${names.map((name) => `${name}:${headers[name]}`).join('\n')}\n\n${names.join(';')}\n${sha256(body)}`;
  const scope = `${date}/us-east-1/dynamodb/aws4_request`;
  const signature = createHmac('sha256', dayKey.key)
    .update(`AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256(canonical)}`)
    .digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=local/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  return headers;
}
const ddb = (operation: string, input: unknown) => {
  const body = JSON.stringify(input);
  return post(dynamo, dynamoAgent, dynamoHeaders(operation, body), body);
};
const s = (value: string) => ({ S: value });
const n = (value: number) => ({ N: String(value) });

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', async () => {
    try {
      const fields = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, string | number>;
      const given = Buffer.from(String(fields.sign ?? ''));
      const expected = Buffer.from(md5Sign(fields, merchantKey));
      if (given.length !== expected.length || !timingSafeEqual(given, expected))
        throw new Error('bad signature');
      const now = Date.now();
      const tradeId = `${Math.floor(now / 1000).toString(16)}${randomBytes(8).toString('hex')}`;
      const key = `${fields.merchant_id}/${tradeId.slice(8)}`;
      const due = new Date(now + 75_000).toISOString();
      await ddb('PutItem', {
        TableName: tables.wakeups,
        Item: {
          bucket: s(`${due.slice(0, 16)}#0`),
          due: s(`${due}#${key}`),
          order_key: s(key),
          expires_at: n(Math.floor(now / 1000) + 604_800),
        },
      });
      const created = new Date(now).toISOString();
      await ddb('PutItem', {
        TableName: tables.orders,
        Item: {
          order_key: s(key),
          merchant_id: s(String(fields.merchant_id)),
          mch_trade_id: s(String(fields.mch_trade_id)),
          trade_id: s(tradeId),
          pay_type: s('wechat.micro'),
          channel: s('wechat'),
          total_fee: n(Number(fields.total_fee)),
          fee_type: s('CNY'),
          state: s('CREATED'),
          trade_state: n(6),
          body: s(String(fields.body)),
          spbill_create_ip: s(String(fields.spbill_create_ip)),
          auth_code_masked: s('1345**********6700'),
          request_fingerprint: s(createHash('sha256').update(JSON.stringify(fields)).digest('hex')),
          created_at: s(created),
          updated_at: s(created),
          settlement: { L: [] },
          settle_due_at: s(due),
          settle_seq: n(0),
          version: n(1),
        },
        ConditionExpression: 'attribute_not_exists(order_key)',
      });
      const pay: Record<string, string> = {
        appid: wechat.appid,
        mch_id: wechat.mch_id,
        nonce_str: randomBytes(16).toString('hex'),
        body: String(fields.body),
        out_trade_no: tradeId,
        total_fee: String(fields.total_fee),
        fee_type: 'CNY',
        spbill_create_ip: String(fields.spbill_create_ip),
        auth_code: String(fields.auth_code),
      };
      pay.sign = md5Sign(pay, wechat.key);
      const xml = `<xml>${Object.entries(pay)
        .map(([k, v]) => `<${k}><![CDATA[${v}]]></${k}>`)
        .join('')}</xml>`;
      const answer = await post(
        new URL('/pay/micropay', sandbox),
        sandboxAgent,
        { 'content-type': 'text/xml' },
        xml,
      );
      const paid = /<result_code><!\[CDATA\[SUCCESS\]\]><\/result_code>/.test(answer);
      const transactionId = /<transaction_id><!\[CDATA\[(\d+)\]\]>/.exec(answer)?.[1] ?? '';
      await ddb('UpdateItem', {
        TableName: tables.orders,
        Key: { order_key: s(key) },
        UpdateExpression:
          'SET #state = :state, trade_state = :ts, out_trade_id = :tx, paid_at = :at, updated_at = :at, #version = :next, settlement = list_append(settlement, :attempt) REMOVE settle_due_at',
        ConditionExpression: '#version = :expected',
        ExpressionAttributeNames: { '#state': 'state', '#version': 'version' },
        ExpressionAttributeValues: {
          ':state': s(paid ? 'PAID' : 'PAYING'),
          ':ts': n(paid ? 0 : 6),
          ':tx': s(transactionId),
          ':at': s(new Date().toISOString()),
          ':next': n(2),
          ':expected': n(1),
          ':attempt': {
            L: [{ M: { at: s(new Date().toISOString()), action: s('pay'), result: s('SUCCESS') } }],
          },
        },
      });
      const data = {
        merchant_id: fields.merchant_id,
        mch_trade_id: fields.mch_trade_id,
        trade_id: tradeId,
        total_fee: fields.total_fee,
        trade_state: paid ? 0 : 6,
        out_trade_id: transactionId,
      };
      const envelope: Record<string, unknown> = {
        code: 0,
        msg: null,
        data,
        version: '1.0',
        sign_type: 'MD5',
      };
      envelope.sign = md5Sign(envelope, merchantKey);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(envelope));
    } catch (error) {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ code: 500, msg: String(error) }));
    }
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
