import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { crc32 } from 'node:zlib';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/** AWS credentials as Lambda gives them to a function (environment variables). */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface DynamoDbHttpOptions {
  readonly region: string;
  /** `https://dynamodb.<region>.amazonaws.com` unless given (local mode: DynamoDB Local). */
  readonly endpoint?: string;
  /** @default the function's credentials from the environment (AWS_ACCESS_KEY_ID, …) */
  readonly credentials?: AwsCredentials;
  /** Attempts per call, retrying throttling, server errors and broken connections. @default 3 */
  readonly maxAttempts?: number;
  /** How long one attempt may take. @default 3_000 */
  readonly attemptTimeoutMs?: number;
}

/** An error DynamoDB answered with (`type` is its `__type`, e.g. `ConditionalCheckFailedException`). */
export class DynamoDbError extends Error {
  override name = 'DynamoDbError';
  readonly type: string;
  readonly status: number;
  constructor(type: string, status: number, message: string) {
    super(`${type}: ${message}`);
    this.type = type;
    this.status = status;
  }
}

/** Whether `error` is DynamoDB refusing a conditional write (its condition did not hold). */
export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof DynamoDbError && error.type === 'ConditionalCheckFailedException';
}

const retryableTypes = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'LimitExceededException',
]);

/**
 * DynamoDB's JSON protocol over HTTP, for the few operations the order store makes on every payment
 * (GetItem, PutItem, UpdateItem, Query, BatchGetItem): a keep-alive connection, Signature V4, the response's
 * CRC32 checked, retries with full-jitter backoff. Written here rather than taken from @aws-sdk/client-dynamodb
 * because that client's generic middleware (endpoint rules, schema serde, logging filters, user agent) costs
 * about 1 ms of CPU per call, three calls per payment, and its import is most of a cold start; the bench measures
 * both. The signature is checked against AWS's own signer (@smithy/signature-v4) in the tests.
 */
export class DynamoDbHttp {
  private readonly url: URL;
  private readonly region: string;
  private readonly credentials: () => AwsCredentials;
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly maxAttempts: number;
  private readonly attemptTimeoutMs: number;
  private signingKey: { scope: string; key: KeyObject } | undefined;

  constructor(options: DynamoDbHttpOptions) {
    this.region = options.region;
    this.url = new URL(options.endpoint ?? `https://dynamodb.${options.region}.amazonaws.com`);
    // Read once: a function's credentials do not change during its lifetime (Lambda gives them per container).
    const credentials = options.credentials ?? environmentCredentials();
    this.credentials = () => credentials;
    this.agent =
      this.url.protocol === 'http:'
        ? new HttpAgent({ keepAlive: true })
        : new HttpsAgent({ keepAlive: true });
    this.maxAttempts = options.maxAttempts ?? 3;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 3_000;
  }

  /** Calls one DynamoDB operation with its JSON input (attribute values already in DynamoDB JSON). */
  async call<T = Record<string, unknown>>(
    operation: string,
    input: Readonly<Record<string, unknown>>,
  ): Promise<T> {
    const body = JSON.stringify(input);
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.attempt(operation, body)) as T;
      } catch (error) {
        const retryable =
          !(error instanceof DynamoDbError) || error.status >= 500 || retryableTypes.has(error.type);
        if (!retryable || attempt >= this.maxAttempts) throw error;
        // Full jitter, 25 ms doubling (as the AWS SDKs back off DynamoDB).
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 25 * 2 ** attempt));
      }
    }
  }

  private attempt(operation: string, body: string): Promise<unknown> {
    const headers = this.signedHeaders(operation, body, new Date());
    const send = this.url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise((resolve, reject) => {
      // A timer, not AbortSignal.timeout: the signal's event machinery cost more than the rest of the call.
      const timer = setTimeout(
        () => req.destroy(timeoutError(operation, this.attemptTimeoutMs)),
        this.attemptTimeoutMs,
      );
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      const req = send(this.url, { method: 'POST', agent: this.agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', fail);
        res.on('end', () => {
          clearTimeout(timer);
          const raw = Buffer.concat(chunks);
          const expectedCrc = rawHeader(res.rawHeaders, 'x-amz-crc32');
          if (typeof expectedCrc === 'string' && Number(expectedCrc) !== crc32(raw)) {
            reject(
              new Error(`DynamoDB ${operation}: the answer's CRC32 does not match (damaged in transit)`),
            );
            return;
          }
          const text = raw.toString('utf8');
          let parsed: Record<string, unknown>;
          try {
            parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
          } catch {
            reject(new Error(`DynamoDB ${operation}: HTTP ${res.statusCode} with a body that is not JSON`));
            return;
          }
          const status = res.statusCode ?? 0;
          if (status === 200) {
            resolve(parsed);
            return;
          }
          const type =
            String(parsed.__type ?? `HTTP_${status}`)
              .split('#')
              .pop() ?? '';
          reject(new DynamoDbError(type, status, String(parsed.message ?? parsed.Message ?? '')));
        });
      });
      req.on('error', fail);
      req.end(body);
    });
  }

  /** Signature V4 headers of one request (service `dynamodb`, path `/`, no query). */
  signedHeaders(operation: string, body: string, at: Date): Record<string, string> {
    const credentials = this.credentials();
    const amzDate = at.toISOString().replace(/[-:]|\.\d{3}/g, '');
    const date = amzDate.slice(0, 8);
    const scope = `${date}/${this.region}/dynamodb/aws4_request`;
    const headers: Record<string, string> = {
      'content-type': 'application/x-amz-json-1.0',
      host: this.url.host,
      'x-amz-date': amzDate,
      'x-amz-target': `DynamoDB_20120810.${operation}`,
    };
    if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
    const names = Object.keys(headers).sort();
    const canonical = [
      'POST',
      '/',
      '',
      ...names.map((name) => `${name}:${String(headers[name]).trim()}`),
      '',
      names.join(';'),
      sha256Hex(body),
    ].join('\n');
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonical)].join('\n');
    const signature = createHmac('sha256', this.keyFor(scope, date, credentials.secretAccessKey))
      .update(stringToSign, 'utf8')
      .digest('hex');
    return {
      ...headers,
      'content-length': String(Buffer.byteLength(body)),
      authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
    };
  }

  /**
   * The signing key of a day (derived once a day, as the AWS SDKs cache it), as a KeyObject: an HMAC keyed with
   * a Buffer makes one internally on every call, seven times the cost of the HMAC itself.
   */
  private keyFor(scope: string, date: string, secret: string): KeyObject {
    if (this.signingKey?.scope === `${scope}:${secret}`) return this.signingKey.key;
    const hmac = (key: string | Buffer, data: string) =>
      createHmac('sha256', key).update(data, 'utf8').digest();
    const derived = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), this.region), 'dynamodb'), 'aws4_request');
    const key = createSecretKey(derived);
    this.signingKey = { scope: `${scope}:${secret}`, key };
    return key;
  }
}

function timeoutError(operation: string, ms: number): Error {
  const error = new Error(`DynamoDB ${operation} did not answer within ${ms} ms`);
  error.name = 'TimeoutError';
  return error;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The function's credentials, as Lambda (and local mode) put them in the environment. */
function environmentCredentials(): AwsCredentials {
  const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new Error('no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)');
  }
  return { accessKeyId, secretAccessKey, sessionToken: process.env.AWS_SESSION_TOKEN };
}

/** What makes DynamoDB calls: a `DynamoDbHttp`, or a test's wrapper around one. */
export interface DynamoDbCaller {
  call<T = Record<string, unknown>>(operation: string, input: Readonly<Record<string, unknown>>): Promise<T>;
}

type Values = Readonly<Record<string, unknown>>;
type AttributeMap = Record<string, AttributeValue>;

/**
 * Plain values in, plain values out: marshals items, keys and expression values to DynamoDB JSON (undefined
 * values left out, as the AWS SDK's marshaller does with `removeUndefinedValues`) and unmarshals what comes
 * back.
 */
export class DynamoDocuments {
  private readonly db: DynamoDbCaller;

  constructor(db: DynamoDbCaller) {
    this.db = db;
  }

  async get(input: {
    TableName: string;
    Key: Values;
    ConsistentRead?: boolean;
  }): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.db.call<{ Item?: AttributeMap }>('GetItem', {
      ...input,
      Key: toAttributes(input.Key),
    });
    return Item ? unmarshall(Item) : undefined;
  }

  async put(input: {
    TableName: string;
    Item: Values;
    ConditionExpression?: string;
    ExpressionAttributeValues?: Values;
  }): Promise<void> {
    await this.db.call('PutItem', {
      ...input,
      Item: toAttributes(input.Item),
      ...(input.ExpressionAttributeValues
        ? { ExpressionAttributeValues: toAttributes(input.ExpressionAttributeValues) }
        : {}),
    });
  }

  async delete(input: { TableName: string; Key: Values }): Promise<void> {
    await this.db.call('DeleteItem', { ...input, Key: toAttributes(input.Key) });
  }

  async update(input: {
    TableName: string;
    Key: Values;
    UpdateExpression: string;
    ConditionExpression?: string;
    ExpressionAttributeNames?: Readonly<Record<string, string>>;
    ExpressionAttributeValues?: Values;
  }): Promise<void> {
    await this.db.call('UpdateItem', {
      ...input,
      Key: toAttributes(input.Key),
      ...(input.ExpressionAttributeValues
        ? { ExpressionAttributeValues: toAttributes(input.ExpressionAttributeValues) }
        : {}),
    });
  }

  async query(input: {
    TableName: string;
    KeyConditionExpression: string;
    ExpressionAttributeNames?: Readonly<Record<string, string>>;
    ExpressionAttributeValues: Values;
    ExclusiveStartKey?: Values;
  }): Promise<{ items: Record<string, unknown>[]; lastKey?: Record<string, unknown> }> {
    const { Items, LastEvaluatedKey } = await this.db.call<{
      Items?: AttributeMap[];
      LastEvaluatedKey?: AttributeMap;
    }>('Query', {
      ...input,
      ExpressionAttributeValues: toAttributes(input.ExpressionAttributeValues),
      ...(input.ExclusiveStartKey ? { ExclusiveStartKey: toAttributes(input.ExclusiveStartKey) } : {}),
    });
    return {
      items: (Items ?? []).map((item) => unmarshall(item)),
      lastKey: LastEvaluatedKey ? unmarshall(LastEvaluatedKey) : undefined,
    };
  }

  /** One table's keys, with their projection; returns what was found and the keys DynamoDB left for later. */
  async batchGet(input: {
    TableName: string;
    Keys: readonly Values[];
    ProjectionExpression?: string;
    ExpressionAttributeNames?: Readonly<Record<string, string>>;
  }): Promise<{ items: Record<string, unknown>[]; unprocessed: Record<string, unknown>[] }> {
    const { TableName, Keys, ...rest } = input;
    const { Responses, UnprocessedKeys } = await this.db.call<{
      Responses?: Record<string, AttributeMap[]>;
      UnprocessedKeys?: Record<string, { Keys?: AttributeMap[] }>;
    }>('BatchGetItem', { RequestItems: { [TableName]: { ...rest, Keys: Keys.map(toAttributes) } } });
    return {
      items: (Responses?.[TableName] ?? []).map((item) => unmarshall(item)),
      unprocessed: (UnprocessedKeys?.[TableName]?.Keys ?? []).map((key) => unmarshall(key)),
    };
  }
}

function toAttributes(values: Values): AttributeMap {
  return toAttributeValue(values).M as AttributeMap;
}

function unmarshall(map: AttributeMap): Record<string, unknown> {
  return fromAttributeValue({ M: map }) as Record<string, unknown>;
}

/**
 * A JSON-shaped value (string, finite number, boolean, null, array, plain object) as a DynamoDB attribute
 * value; object members that are undefined are left out. Written here for the order record's plain shapes: the
 * SDK's general marshaller (sets, binaries, class instances) was a twentieth of a payment's CPU. The tests
 * check it against @aws-sdk/util-dynamodb's over generated values.
 */
export function toAttributeValue(value: unknown): AttributeValue {
  switch (typeof value) {
    case 'string':
      return { S: value };
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`cannot store ${value} in DynamoDB`);
      return { N: String(value) };
    case 'boolean':
      return { BOOL: value };
    case 'object': {
      if (value === null) return { NULL: true };
      if (Array.isArray(value)) return { L: value.map(toAttributeValue) };
      const map: AttributeMap = {};
      for (const [name, member] of Object.entries(value)) {
        if (member !== undefined) map[name] = toAttributeValue(member);
      }
      return { M: map };
    }
    default:
      throw new TypeError(`cannot store a ${typeof value} in DynamoDB`);
  }
}

/** A DynamoDB attribute value as the plain value `toAttributeValue` made it from. */
export function fromAttributeValue(attribute: AttributeValue): unknown {
  if (attribute.S !== undefined) return attribute.S;
  if (attribute.N !== undefined) {
    const number = Number(attribute.N);
    if (!Number.isSafeInteger(number) && !/^-?\d*\.\d+$/.test(attribute.N)) {
      throw new RangeError(`number ${attribute.N} does not fit a JavaScript number exactly`);
    }
    return number;
  }
  if (attribute.BOOL !== undefined) return attribute.BOOL;
  if (attribute.NULL !== undefined) return null;
  if (attribute.L !== undefined) return attribute.L.map(fromAttributeValue);
  if (attribute.M !== undefined) {
    return Object.fromEntries(
      Object.entries(attribute.M).map(([name, member]) => [name, fromAttributeValue(member)]),
    );
  }
  throw new TypeError(`attribute type ${Object.keys(attribute).join(',')} is not one the order store writes`);
}

/**
 * One header of an answer from its raw name/value list: reading `headers` makes Node build an object of every
 * header, on every call, for the one header this client checks.
 */
function rawHeader(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i] as string;
    if (key.length === name.length && key.toLowerCase() === name) return raw[i + 1];
  }
  return undefined;
}
