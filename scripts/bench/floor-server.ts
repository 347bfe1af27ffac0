import { createHash, createHmac, createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { createServer, Agent as HttpAgent, request as httpRequest } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ChannelAccount, ChannelCredentials } from '#core/channels/channel.ts';
import { installedChannels } from '#core/channels/installed.ts';
import { ChannelHttp } from '#core/channels/kit/http.ts';
import { sign, verify } from '#core/signing.ts';

/**
 * The floor the gateway's API process is measured against: the least a careful team would write for one barcode
 * payment with the same packages. It verifies the request's MD5 signature, writes the wake-up and the order
 * (conditional put), pays through the channel's own client (`ChannelDescriptor.create`, so the channel call and
 * its answer check cost the same), writes the answer (conditional update) and answers a signed envelope. It
 * skips what the gateway does beyond that: validation, merchant lookup, idempotent replays, the settlement start,
 * telemetry and logging.
 *
 * `FLOOR_DYNAMODB=sdk` (the floor the targets are against) calls DynamoDB through the SDK's document client, as
 * the gateway does; `raw` speaks DynamoDB's JSON protocol over keep-alive HTTP with a Signature V4 of its own, for
 * the information line: what the SDK itself costs. Configured by the environment the bench passes; prints
 * `{"url": …}` when listening.
 */
const env = process.env;
const route = JSON.parse(env.FLOOR_ROUTE ?? '{}') as {
  payType: string;
  channel: string;
  url: string;
  account: ChannelAccount;
  credentials: ChannelCredentials;
};
const descriptor = installedChannels.find((channel) => channel.name === route.channel);
if (!descriptor) throw new Error(`no channel ${route.channel}`);
const channel = descriptor.create({ url: route.url, http: new ChannelHttp(env.FLOOR_CA_PEM) });
const context = { account: route.account, credentials: route.credentials };
const merchantKey = env.FLOOR_MERCHANT_KEY ?? '';
const tables = { orders: env.FLOOR_ORDERS_TABLE ?? '', wakeups: env.FLOOR_WAKEUPS_TABLE ?? '' };
const dynamoUrl = new URL(env.FLOOR_DYNAMODB_URL ?? '');

/** The two writes a payment needs, through the SDK or by hand. */
interface Store {
  put(table: string, item: Record<string, unknown>, condition?: string): Promise<void>;
  update(
    table: string,
    key: Record<string, string>,
    expression: string,
    condition: string,
    names: Record<string, string>,
    values: Record<string, unknown>,
  ): Promise<void>;
}

function sdkStore(): Store {
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      region: 'us-east-1',
      endpoint: dynamoUrl.href,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 3,
      requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000 },
    }),
  );
  return {
    put: async (table, item, condition) => {
      await doc.send(new PutCommand({ TableName: table, Item: item, ConditionExpression: condition }));
    },
    update: async (table, key, expression, condition, names, values) => {
      await doc.send(
        new UpdateCommand({
          TableName: table,
          Key: key,
          UpdateExpression: expression,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    },
  };
}

/** DynamoDB's JSON protocol by hand: keep-alive HTTP, the items marshalled and the request signed here. */
function rawStore(): Store {
  const agent = new HttpAgent({ keepAlive: true });
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  const hmac = (key: string | Buffer, text: string) => createHmac('sha256', key).update(text).digest();
  let dayKey: { date: string; key: KeyObject } | undefined;
  // Signature V4, as DynamoDB requires of any client (DynamoDB Local does not check it, so skipping it would skip
  // work no deployable server can): the canonical request's and body's SHA-256, one HMAC with the day's key.
  const headersFor = (operation: string, body: string): Record<string, string> => {
    const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
    const date = amzDate.slice(0, 8);
    if (dayKey?.date !== date) {
      const derived = hmac(hmac(hmac(hmac('AWS4local', date), 'us-east-1'), 'dynamodb'), 'aws4_request');
      dayKey = { date, key: createSecretKey(derived) };
    }
    const headers: Record<string, string> = {
      'content-type': 'application/x-amz-json-1.0',
      host: dynamoUrl.host,
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
  };
  const marshal = (value: unknown): unknown => {
    if (typeof value === 'number') return { N: String(value) };
    if (Array.isArray(value)) return { L: value.map(marshal) };
    if (value !== null && typeof value === 'object')
      return { M: marshalAll(value as Record<string, unknown>) };
    return { S: String(value) };
  };
  const marshalAll = (values: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(values).map(([name, value]) => [name, marshal(value)]));
  const send = (operation: string, input: unknown) => {
    const body = JSON.stringify(input);
    return post(dynamoUrl, agent, headersFor(operation, body), body);
  };
  return {
    put: async (table, item, condition) => {
      await send('PutItem', { TableName: table, Item: marshalAll(item), ConditionExpression: condition });
    },
    update: async (table, key, expression, condition, names, values) => {
      await send('UpdateItem', {
        TableName: table,
        Key: marshalAll(key),
        UpdateExpression: expression,
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: marshalAll(values),
      });
    },
  };
}

/**
 * One POST on a keep-alive connection. A request sent on a reused connection that the server had closed meanwhile
 * (reset before any answer) is sent once more on a new one, as Node's documentation advises: the bench's turns
 * leave each server idle for seconds, longer than a pooled connection may live.
 */
function post(url: URL, agent: HttpAgent, headers: Record<string, string>, body: string): Promise<string> {
  const once = () =>
    new Promise<string>((resolve, reject) => {
      const req = httpRequest(
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
  return once().catch((error: NodeJS.ErrnoException & { reused?: boolean }) => {
    if (error.reused && error.code === 'ECONNRESET') return once();
    throw error;
  });
}

const store = env.FLOOR_DYNAMODB === 'raw' ? rawStore() : sdkStore();

async function pay(fields: Record<string, string | number>): Promise<Record<string, unknown>> {
  if (!verify(fields, merchantKey, 'MD5')) throw new Error('bad signature');
  const now = Date.now();
  const tradeId = `${Math.floor(now / 1000).toString(16)}${randomBytes(8).toString('hex')}`;
  const key = `${fields.merchant_id}/${tradeId.slice(8)}`;
  const due = new Date(now + 75_000).toISOString();
  await store.put(tables.wakeups, {
    bucket: `${due.slice(0, 16)}#0`,
    due: `${due}#${key}`,
    order_key: key,
    expires_at: Math.floor(now / 1000) + 604_800,
  });
  const created = new Date(now).toISOString();
  await store.put(
    tables.orders,
    {
      order_key: key,
      merchant_id: String(fields.merchant_id),
      mch_trade_id: String(fields.mch_trade_id),
      trade_id: tradeId,
      pay_type: route.payType,
      channel: route.channel,
      total_fee: Number(fields.total_fee),
      fee_type: 'CNY',
      state: 'CREATED',
      trade_state: 6,
      body: String(fields.body),
      spbill_create_ip: String(fields.spbill_create_ip),
      auth_code_masked: `${String(fields.auth_code).slice(0, 4)}**********${String(fields.auth_code).slice(-4)}`,
      request_fingerprint: createHash('sha256').update(JSON.stringify(fields)).digest('hex'),
      created_at: created,
      updated_at: created,
      settlement: [],
      settle_due_at: due,
      settle_seq: 0,
      version: 1,
    },
    'attribute_not_exists(order_key)',
  );
  const result = await channel.pay(
    context,
    {
      out_trade_no: tradeId,
      total_fee: Number(fields.total_fee),
      auth_code: String(fields.auth_code),
      body: String(fields.body),
      spbill_create_ip: String(fields.spbill_create_ip),
      fee_type: 'CNY',
    },
    channel.protocol.payDeadlineMs,
  );
  const paid = result.kind === 'paid';
  const at = new Date().toISOString();
  await store.update(
    tables.orders,
    { order_key: key },
    'SET #state = :state, trade_state = :ts, out_trade_id = :tx, paid_at = :at, updated_at = :at, #version = :next, settlement = list_append(settlement, :attempt) REMOVE settle_due_at',
    '#version = :expected',
    { '#state': 'state', '#version': 'version' },
    {
      ':state': paid ? 'PAID' : 'PAYING',
      ':ts': paid ? 0 : 6,
      ':tx': paid ? (result.details.out_trade_id ?? '') : '',
      ':at': at,
      ':next': 2,
      ':expected': 1,
      ':attempt': [{ at, action: 'pay', result: result.said }],
    },
  );
  const data = {
    merchant_id: fields.merchant_id,
    mch_trade_id: fields.mch_trade_id,
    trade_id: tradeId,
    total_fee: fields.total_fee,
    trade_state: paid ? 0 : 6,
  };
  const envelope: Record<string, unknown> = { code: 0, msg: null, data, version: '1.0', sign_type: 'MD5' };
  envelope.sign = sign(envelope, merchantKey, 'MD5');
  return envelope;
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', async () => {
    const envelope = await pay(JSON.parse(Buffer.concat(chunks).toString('utf8'))).catch(
      (error: unknown) => ({
        code: 500,
        msg: String(error),
      }),
    );
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(envelope));
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
