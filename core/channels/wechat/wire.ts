/** Largest WeChat document read; a micropay answer is under 2 KB. */
export const maxXmlBytes = 64 * 1024;

export type WireFields = Record<string, string>;

/** A flat `<xml>` document of the fields that have a value, each in CDATA (a `]]>` in it split across two sections). */
export function toXml(fields: Readonly<Record<string, string | number | undefined>>): string {
  let xml = '<xml>';
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined || value === '') continue;
    xml += `<${name}><![CDATA[${String(value).replaceAll(']]>', ']]]]><![CDATA[>')}]]></${name}>`;
  }
  return `${xml}</xml>`;
}

/*
 * The reader is written here rather than taken from an XML library: WeChat's documents are one grammar,
 * `<xml>` holding named text fields, and reading exactly that grammar refuses by construction what a general
 * parser must be configured (and validated in a second pass) to refuse: DOCTYPE and ENTITY declarations,
 * comments and processing instructions, attributes, text beside the fields, nested or repeated fields,
 * undefined entities and anything after the root. It also costs a fifth of fast-xml-parser's validate +
 * parse (11–14 µs against 67 µs for a micropay answer), which was the largest part of reading one.
 * test/unit/wechat-wire.test.ts checks it against fast-xml-parser on generated documents.
 */
const space = '[\\t\\n\\r ]*';
/** An optional BOM and XML declaration (only at the very start, as XML requires), then the root's start tag. */
const rootStart = new RegExp(`^\\uFEFF?(?:<\\?xml[\\t\\n\\r ][^<>]*?\\?>)?${space}<xml${space}(/?)>`, 'y');
/** A field's start tag (or an empty field, `<name/>`), after optional whitespace. */
const fieldStart = new RegExp(`${space}<([A-Za-z_][A-Za-z0-9_.-]*)${space}(/?)>`, 'y');
const rootEnd = new RegExp(`${space}</xml${space}>${space}$`, 'y');
/** Characters XML does not allow in a document (outside its `Char` production), lone surrogates included. */
const notXmlChars =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: exactly the control characters XML forbids
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const reference = /&(?:(amp|lt|gt|quot|apos)|#([0-9]{1,7})|#x([0-9A-Fa-f]{1,6}));|&/g;
const entities: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** A code point XML allows in text (its `Char` production). */
function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

const isXmlSpace = (c: number) => c === 0x20 || c === 0x9 || c === 0xa || c === 0xd;

/** `text` without the XML whitespace at its ends (index loops: a regex for the end is quadratic on long runs). */
function trimXmlSpace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isXmlSpace(text.charCodeAt(start))) start++;
  while (end > start && isXmlSpace(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/**
 * Character data between tags: the whitespace written at its ends trimmed, then references decoded (a space
 * written as `&#32;` is kept); undefined when not well-formed.
 */
function readText(raw: string): string | undefined {
  if (raw === '') return raw;
  if (raw.includes(']]>')) return undefined;
  const trimmed = trimXmlSpace(raw);
  let bad = false;
  const decoded = trimmed.includes('&')
    ? trimmed.replace(reference, (_, entity?: string, decimal?: string, hex?: string) => {
        if (entity) return entities[entity] ?? '';
        const code = decimal ? Number.parseInt(decimal, 10) : hex ? Number.parseInt(hex, 16) : Number.NaN;
        if (!isXmlChar(code)) {
          bad = true;
          return '';
        }
        return String.fromCodePoint(code);
      })
    : trimmed;
  return bad ? undefined : decoded;
}

/** A field's content from `at` up to its end tag: text and CDATA sections, nothing else. */
function readValue(text: string, name: string, at: number): { value: string; next: number } | undefined {
  let value = '';
  let i = at;
  for (;;) {
    const lt = text.indexOf('<', i);
    if (lt < 0) return undefined;
    const chars = readText(text.slice(i, lt));
    if (chars === undefined) return undefined;
    value += chars;
    if (text.startsWith('<![CDATA[', lt)) {
      const end = text.indexOf(']]>', lt + 9);
      if (end < 0) return undefined;
      value += text.slice(lt + 9, end);
      i = end + 3;
      continue;
    }
    if (!text.startsWith(`</${name}`, lt)) return undefined; // a nested element, comment, PI or another end tag
    let close = lt + 2 + name.length;
    while (text[close] === ' ' || text[close] === '\t' || text[close] === '\n' || text[close] === '\r')
      close++;
    if (text[close] !== '>') return undefined;
    return { value, next: close + 1 };
  }
}

/**
 * Reads a WeChat `<xml>` document strictly; undefined when it is not one. Refused: more than `maxXmlBytes`;
 * anything but an optional XML declaration and one `<xml>` root without attributes, holding only fields
 * (whitespace between them); a field that is not text and CDATA (nested elements, attributes, comments, a
 * repeated name); an entity other than XML's five, a character reference to no XML character, or a character
 * XML does not allow. Text is trimmed of the XML whitespace written at its ends, then decoded; CDATA is kept
 * verbatim.
 */
export function fromXml(text: string): WireFields | undefined {
  if (text.length > maxXmlBytes || Buffer.byteLength(text, 'utf8') > maxXmlBytes) return undefined;
  if (notXmlChars.test(text)) return undefined;
  rootStart.lastIndex = 0;
  const root = rootStart.exec(text);
  if (!root) return undefined;
  let i = rootStart.lastIndex;
  const fields: WireFields = {};
  if (root[1] !== '/') {
    for (;;) {
      rootEnd.lastIndex = i;
      if (rootEnd.test(text)) break;
      fieldStart.lastIndex = i;
      const start = fieldStart.exec(text);
      const name = start?.[1];
      if (!start || !name || name === 'xml' || name === '__proto__' || Object.hasOwn(fields, name)) {
        return undefined;
      }
      if (start[2] === '/') {
        fields[name] = '';
        i = fieldStart.lastIndex;
        continue;
      }
      const read = readValue(text, name, fieldStart.lastIndex);
      if (!read) return undefined;
      fields[name] = read.value;
      i = read.next;
    }
  } else if (trimXmlSpace(text.slice(i)) !== '') {
    return undefined;
  }
  return fields;
}
