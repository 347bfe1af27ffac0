import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { canonicalString, parseSignType, sign, verify } from '#core/signing.ts';

// WeChat Pay v2's published signing example (SPEC section 2).
const example = {
  appid: 'wxd930ea5d5a258f4f',
  mch_id: '10000100',
  device_info: '1000',
  body: 'test',
  nonce_str: 'ibuaiVcKdpRxkhJA',
};
const exampleKey = '192006250b4c09247ec02edce69f6a2d';

describe('signing', () => {
  it('builds the string-to-sign of the published example', () => {
    assert.equal(
      canonicalString(example),
      'appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA',
    );
  });

  it('signs the published example with MD5', () => {
    assert.equal(sign(example, exampleKey, 'MD5'), '9A0A8659F005D6984697E2CA0A9CF3B7');
  });

  it('signs the published example with HMAC-SHA256', () => {
    assert.equal(
      sign(example, exampleKey, 'HMAC-SHA256'),
      '6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6',
    );
  });

  it('leaves out sign and empty or null values', () => {
    assert.equal(canonicalString({ b: '2', a: '', c: null, sign: 'X', d: undefined, e: 0 }), 'b=2&e=0');
  });

  it('writes object values as key-sorted JSON without spaces', () => {
    assert.equal(
      canonicalString({ data: { z: 1, a: { y: 'b', c: [2, 1] } } }),
      'data={"a":{"c":[2,1],"y":"b"},"z":1}',
    );
  });

  it('verifies a correct signature in either case', () => {
    assert.equal(verify({ ...example, sign: '9a0a8659f005d6984697e2ca0a9cf3b7' }, exampleKey), true);
  });

  it('rejects a signature after any field changed', () => {
    assert.equal(
      verify({ ...example, body: 'test2', sign: '9A0A8659F005D6984697E2CA0A9CF3B7' }, exampleKey),
      false,
    );
  });

  it('rejects a signature made with another key or of another length', () => {
    const forged = sign(example, 'another-key', 'MD5');
    assert.equal(verify({ ...example, sign: forged }, exampleKey), false);
    assert.equal(verify({ ...example, sign: '9A0A' }, exampleKey), false);
  });

  it('reads sign_type case-insensitively and defaults to MD5', () => {
    assert.equal(parseSignType(undefined), 'MD5');
    assert.equal(parseSignType('md5'), 'MD5');
    assert.equal(parseSignType('hmac-sha256'), 'HMAC-SHA256');
    assert.equal(parseSignType('SHA1'), undefined);
  });
});
