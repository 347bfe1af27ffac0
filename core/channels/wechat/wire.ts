import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';

/** Largest WeChat document read; a micropay answer is under 2 KB. */
export const maxXmlBytes = 64 * 1024;

/**
 * WeChat Pay v2 speaks flat `<xml>` documents of string fields, values in CDATA. The parser decodes the five
 * standard entities (a signature is computed over decoded text) and keeps CDATA verbatim; attributes are kept
 * so that a document carrying them is refused as not flat.
 */
const parser = new XMLParser({
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
  htmlEntities: false,
  ignoreAttributes: false,
  ignoreDeclaration: true,
});
const builder = new XMLBuilder({ cdataPropName: '__cdata' });

export type WireFields = Record<string, string>;

export function toXml(fields: Readonly<Record<string, string | number | undefined>>): string {
  const body: Record<string, { __cdata: string }> = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value !== undefined && value !== '') body[name] = { __cdata: String(value) };
  }
  return builder.build({ xml: body }) as string;
}

/**
 * Parses a WeChat `<xml>` document strictly; undefined when it is not one. Refused: more than `maxXmlBytes`,
 * a DOCTYPE or ENTITY declaration (entity expansion is an attack, and WeChat never sends one), anything not
 * well-formed, a root other than one `<xml>`, and any field that is not a single text value (nested
 * elements, repeated names, attributes).
 */
export function fromXml(text: string): WireFields | undefined {
  if (Buffer.byteLength(text, 'utf8') > maxXmlBytes) return undefined;
  if (/<!(DOCTYPE|ENTITY)/i.test(text)) return undefined;
  if (XMLValidator.validate(text) !== true) return undefined;
  let parsed: unknown;
  try {
    parsed = parser.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Object.keys(parsed).length !== 1) return undefined;
  const xml = (parsed as { xml?: unknown }).xml;
  if (xml === '') return {};
  if (xml === null || typeof xml !== 'object' || Array.isArray(xml)) return undefined;
  const fields: WireFields = {};
  for (const [name, value] of Object.entries(xml)) {
    if (typeof value !== 'string') return undefined;
    fields[name] = value;
  }
  return fields;
}

const beijingOffsetMs = 8 * 3600 * 1000;

/** Epoch seconds → WeChat's `yyyyMMddHHmmss` in Beijing time. */
export function toWechatTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000 + beijingOffsetMs).toISOString().replace(/\D/g, '').slice(0, 14);
}

/** WeChat's `yyyyMMddHHmmss` (Beijing time) → epoch seconds; undefined when malformed. */
export function fromWechatTime(text: string | undefined): number | undefined {
  const m = text?.match(/^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  return (Date.UTC(y, mo - 1, d, h, mi, s) - beijingOffsetMs) / 1000;
}
