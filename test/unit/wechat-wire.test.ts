import assert from 'node:assert/strict';
import fc from 'fast-check';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, it } from 'vitest';
import { fromUtc8, toUtc8 } from '#core/channels/kit/time.ts';
import { fromXml, maxXmlBytes, toXml } from '#core/channels/wechat/wire.ts';
import { maskAuthCode, newTradeId, orderHash, orderHashOfTradeId } from '#core/ids.ts';

describe('WeChat wire format', () => {
  it('round-trips fields through CDATA, even text that contains the CDATA terminator', () => {
    const fields = { appid: 'wx1', body: 'a<b]]>&c', total_fee: '0100' };
    assert.deepEqual(fromXml(toXml(fields)), fields);
  });

  it('drops empty and undefined fields when writing', () => {
    assert.equal(toXml({ a: '1', b: '', c: undefined }), '<xml><a><![CDATA[1]]></a></xml>');
  });

  it('refuses documents that are not a WeChat <xml> document', () => {
    assert.equal(fromXml('not xml at all'), undefined);
    assert.equal(fromXml('<other>1</other>'), undefined);
  });

  it('reads what XML allows in a field and refuses what a flat WeChat document never holds', () => {
    const read = (body: string) => fromXml(`<xml>${body}</xml>`);
    assert.deepEqual(read('<a> x </a>\n <b><![CDATA[ y ]]></b><c/><d></d>'), {
      a: 'x',
      b: ' y ',
      c: '',
      d: '',
    });
    assert.deepEqual(read('<a>&lt;&gt;&amp;&quot;&apos;&#65;&#x4E2D;</a>'), { a: `<>&"'A中` });
    assert.deepEqual(read('<a>x<![CDATA[<y>]]>z</a >'), { a: 'x<y>z' });
    assert.deepEqual(read('<a>&#x20;x&#10;</a>'), { a: ' x\n' }, 'whitespace written as a reference is kept');
    const gap = ' \t\n'.repeat(10_000); // two of them fill most of maxXmlBytes
    assert.deepEqual(read(`<a>x${gap}y</a><b>${gap}</b>`), { a: `x${gap}y`, b: '' }, 'long whitespace runs');
    assert.deepEqual(fromXml('\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<xml ><a>1</a></xml >\n'), {
      a: '1',
    });
    for (const body of [
      '<a>&foo;</a>', // an entity nobody declared
      '<a>a&b</a>',
      '<a>&#0;</a>', // no XML character
      '<a>x]]>y</a>',
      '<!-- c --><a>1</a>',
      '<?pi x?><a>1</a>',
      'text<a>1</a>',
      '<a x="1">1</a>',
      '<a><b>1</b></a>',
      '<a>1</b>',
      '<a>1</a><a>2</a>',
      '<ns:a>1</ns:a>',
      '<__proto__>1</__proto__>',
      '<a><![CDATA[1</a>',
      '<a>\u0000</a>', // characters XML does not allow, in text or CDATA
      '<a><![CDATA[\u0001]]></a>',
      '<a>\uFFFF</a>',
      '<a>\uD800</a>', // a lone surrogate
    ]) {
      assert.equal(read(body), undefined, body);
    }
    for (const doc of [
      '<xml y="2"><a>1</a></xml>',
      ' <?xml version="1.0"?><xml></xml>', // the declaration comes first or not at all
      '<xml><a>1</a></xml>trailing',
      '<xml></xml><xml></xml>',
      `<xml><a>${'x'.repeat(maxXmlBytes)}</a></xml>`,
    ]) {
      assert.equal(fromXml(doc), undefined, doc.slice(0, 60));
    }
  });

  /** fast-xml-parser, configured and validated as the gateway once read WeChat: the oracle for the reader. */
  const oracle = (text: string): Record<string, unknown> | undefined => {
    if (XMLValidator.validate(text) !== true) return undefined;
    const parsed = new XMLParser({ parseTagValue: false, processEntities: true, htmlEntities: false }).parse(
      text,
    ) as { xml?: unknown };
    return parsed.xml === '' ? {} : (parsed.xml as Record<string, unknown>);
  };
  const names = fc.stringMatching(/^[a-z_][a-z0-9_]{0,20}$/).filter((n) => n !== 'xml' && n !== '__proto__');
  const values = fc.string({
    unit: fc.constantFrom('a', 'Z', '0', ' ', '<', '>', '&', '"', "'", ']', '中', '😀'),
  });
  const documents = fc.dictionary(names, values, { maxKeys: 12 });

  it('reads every flat document as fast-xml-parser does, in CDATA or entity-escaped text', () => {
    fc.assert(
      fc.property(documents, (fields) => {
        const written = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== ''));
        const cdata = toXml(fields);
        assert.deepEqual(fromXml(cdata), written);
        assert.deepEqual(fromXml(cdata), oracle(cdata));
        const escaped = `<xml>${Object.entries(fields)
          .map(
            ([k, v]) =>
              `<${k}>${v.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')}</${k}>`,
          )
          .join('\n')}</xml>`;
        const expected = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.trim()]));
        assert.deepEqual(fromXml(escaped), expected);
        assert.deepEqual({ ...oracle(escaped) }, expected);
      }),
      { numRuns: 1_000 },
    );
  });

  it('is never more lenient than fast-xml-parser with its validator: a damaged document it accepts, so does the oracle, alike', () => {
    let accepted = 0;
    const damage = fc.constantFrom(
      '<',
      '>',
      '&',
      '/',
      ']]>',
      '<!DOCTYPE x>',
      '<!-- c -->',
      '<b>',
      '</b>',
      ' x="1"',
      '"',
      '<![CDATA[',
    );
    fc.assert(
      fc.property(
        documents,
        fc.array(fc.tuple(fc.nat(), fc.oneof(damage, fc.constant(''))), { minLength: 1, maxLength: 3 }),
        (fields, edits) => {
          let text = toXml(fields);
          for (const [at, insert] of edits) {
            const i = at % (text.length + 1);
            text =
              insert === ''
                ? text.slice(0, i) + text.slice(i + 1)
                : text.slice(0, i) + insert + text.slice(i);
          }
          const read = fromXml(text);
          if (read === undefined) return;
          accepted += 1;
          assert.deepEqual(read, oracle(text), text);
        },
      ),
      { numRuns: 5_000 },
    );
    assert.ok(
      accepted > 100,
      `only ${accepted} damaged documents were still readable: the property tested little`,
    );
  });

  it('converts epoch seconds to and from Beijing time', () => {
    assert.equal(toUtc8(1_700_000_000 * 1000, 'compact'), '20231115061320');
    assert.equal(fromUtc8('20231115061320', 'compact'), 1_700_000_000);
    assert.equal(fromUtc8('2023-11-15', 'compact'), undefined);
  });
});

describe('ids', () => {
  it('makes 24-hex trade ids that sort by time', () => {
    const earlier = newTradeId(1_700_000_000_000, 'M1', 'zzz-last');
    const later = newTradeId(1_700_000_001_000, 'M1', 'aaa-first');
    assert.match(earlier, /^[0-9a-f]{24}$/);
    assert.ok(earlier < later);
  });

  it('names one order by merchant and mch_trade_id, whenever it is made', () => {
    const first = newTradeId(1_700_000_000_000, 'M1', 'pos-1');
    const retry = newTradeId(1_700_000_090_000, 'M1', 'pos-1');
    assert.equal(orderHashOfTradeId(first), orderHash('M1', 'pos-1'));
    assert.equal(orderHashOfTradeId(retry), orderHash('M1', 'pos-1'));
    assert.notEqual(orderHash('M2', 'pos-1'), orderHash('M1', 'pos-1'));
    assert.equal(orderHashOfTradeId('not-a-trade-id'), undefined);
  });

  it('masks all but the first and last four digits of a payment code', () => {
    assert.equal(maskAuthCode('134567890123456789'), '1345**********6789');
  });
});
