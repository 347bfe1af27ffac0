import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { SignatureV4 } from '@smithy/signature-v4';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  DynamoDbError,
  DynamoDbHttp,
  fromAttributeValue,
  isConditionalCheckFailed,
  toAttributeValue,
} from '#adapters/dynamodb-http.ts';

/** SHA-256 as @smithy/signature-v4 wants it (a Checksum), from node:crypto. */
class Sha256 {
  private readonly hash;
  constructor(secret?: string | Uint8Array) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', secret);
  }
  update(data: string | Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {}
}

describe("the DynamoDB client's Signature V4", () => {
  for (const sessionToken of [undefined, 'IQoJb3JpZ2luX2VjEJr//////////session-token']) {
    it(`signs as AWS's own signer does${sessionToken ? ', with a session token' : ''}`, async () => {
      const credentials = {
        accessKeyId: 'AKIDEXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
        sessionToken,
      };
      const client = new DynamoDbHttp({ region: 'ap-east-1', credentials });
      const at = new Date('2026-12-01T07:41:12.345Z');
      const body = JSON.stringify({ TableName: 'orders', Key: { order_key: { S: 'M1/0123456789abcdef' } } });
      const ours = client.signedHeaders('GetItem', body, at);
      const { authorization: _ours, 'content-length': _length, ...unsigned } = ours;
      const reference = await new SignatureV4({
        credentials,
        region: 'ap-east-1',
        service: 'dynamodb',
        sha256: Sha256 as never,
        // As the AWS SDK signs DynamoDB requests: no x-amz-content-sha256 header.
        applyChecksum: false,
      }).sign(
        {
          method: 'POST',
          protocol: 'https:',
          hostname: 'dynamodb.ap-east-1.amazonaws.com',
          path: '/',
          headers: unsigned,
          body,
          query: {},
        },
        { signingDate: at },
      );
      assert.equal(ours.authorization, reference.headers.authorization);
    });
  }
});

describe('the DynamoDB client over HTTP', () => {
  let server: Server;
  let answers: Array<{ status: number; body: unknown; crc?: number }> = [];
  let calls = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        calls += 1;
        const next = answers.shift() ?? { status: 200, body: {} };
        const text = Buffer.from(JSON.stringify(next.body));
        res
          .writeHead(next.status, {
            'content-type': 'application/x-amz-json-1.0',
            'x-amz-crc32': String(next.crc ?? crc32(text)),
          })
          .end(text);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => server.close());

  const client = () =>
    new DynamoDbHttp({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });

  it('retries throttling and server errors, then answers', async () => {
    calls = 0;
    answers = [
      {
        status: 400,
        body: { __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', message: 'slow down' },
      },
      { status: 500, body: { __type: 'InternalServerError' } },
      { status: 200, body: { Item: { a: { S: 'b' } } } },
    ];
    assert.deepEqual(await client().call('GetItem', {}), { Item: { a: { S: 'b' } } });
    assert.equal(calls, 3);
  });

  it('gives up after three attempts', async () => {
    calls = 0;
    answers = Array.from({ length: 3 }, () => ({ status: 503, body: { __type: 'ServiceUnavailable' } }));
    await assert.rejects(
      client().call('GetItem', {}),
      (e: unknown) => e instanceof DynamoDbError && e.status === 503,
    );
    assert.equal(calls, 3);
  });

  it('does not retry a refused condition, and says what it was', async () => {
    calls = 0;
    answers = [
      {
        status: 400,
        body: {
          __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
          message: 'The conditional request failed',
        },
      },
    ];
    const error = await client()
      .call('PutItem', {})
      .catch((e: unknown) => e);
    assert.ok(isConditionalCheckFailed(error));
    assert.equal(calls, 1);
  });

  it('refuses an answer whose CRC32 does not match, and asks again', async () => {
    calls = 0;
    answers = [
      { status: 200, body: { Item: { a: { S: 'damaged' } } }, crc: 1 },
      { status: 200, body: { Item: { a: { S: 'intact' } } } },
    ];
    assert.deepEqual(await client().call('GetItem', {}), { Item: { a: { S: 'intact' } } });
    assert.equal(calls, 2);
  });
});

describe("the order store's marshalling", () => {
  // What an order record is made of: strings, safe integers, booleans, null, lists and maps of them.
  const plain = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.string(),
      fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 4 }),
      tie('object'),
    ),
    object: fc.dictionary(
      // Attribute names as an order has them (the SDK's marshaller reads a member named constructor as a class).
      fc.string({ minLength: 1 }).filter((k) => k !== '__proto__' && k !== 'constructor'),
      fc.oneof(tie('value'), fc.constant(undefined)),
      { maxKeys: 5 },
    ),
  }));

  it('writes what the AWS SDK marshaller writes, undefined members left out', () => {
    fc.assert(
      fc.property(plain.object, (item) => {
        assert.deepEqual(toAttributeValue(item).M, marshall(item, { removeUndefinedValues: true }));
      }),
      { numRuns: 2_000 },
    );
  });

  it('reads back what it wrote', () => {
    fc.assert(
      fc.property(plain.object, (item) => {
        const defined = JSON.parse(JSON.stringify(item)) as unknown;
        assert.deepEqual(fromAttributeValue(toAttributeValue(item)), defined);
        assert.deepEqual(
          fromAttributeValue(toAttributeValue(item)),
          unmarshall(marshall(item, { removeUndefinedValues: true })),
        );
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuses what would not come back the same', () => {
    assert.throws(() => toAttributeValue(Number.NaN), /cannot store/);
    assert.throws(() => fromAttributeValue({ N: '12345678901234567890' }), /does not fit/);
    assert.throws(() => fromAttributeValue({ SS: ['a'] }), /not one the order store writes/);
  });
});
