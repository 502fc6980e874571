/**
 * A parser for the dts text dtc writes when it decompiles a blob
 * (`dtc -I dtb -O dts`): nodes, labels, properties whose values are strings,
 * `<cells>` (optionally `/bits/ N`) and `[bytes]`, and `/memreserve/`.
 * It is not a dts compiler: no includes, no `&label` references, no
 * expressions — dtc resolves all of those before it writes a blob.
 */
import type { Range } from '../model/boot.js';
import { DtError, DtNode, DtProperty, DtTree, joinCells } from './model.js';

type Token =
  | { kind: 'word'; text: string; line: number }
  | { kind: 'punct'; text: string; line: number }
  | { kind: 'directive'; text: string; line: number }
  | { kind: 'string'; bytes: number[]; line: number }
  | { kind: 'cells'; text: string; line: number }
  | { kind: 'bytes'; text: string; line: number };

/** Decode one dtc string literal body (escapes as dtc writes and reads them) to UTF-8 bytes. */
function unescape(body: string, line: number): number[] {
  if (!body.includes('\\')) return [...Buffer.from(body, 'utf8')];
  const out: number[] = [];
  const simple: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '\\': 92, '"': 34, "'": 39 };
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      out.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const e = body[++i];
    if (e === undefined) throw new DtError(`dts line ${line}: string ends in a backslash`);
    if (e in simple) out.push(simple[e]!);
    else if (e === 'x') {
      const hex = /^[0-9a-fA-F]{1,2}/.exec(body.slice(i + 1))![0];
      out.push(parseInt(hex, 16));
      i += hex.length;
    } else if (/[0-7]/.test(e)) {
      const oct = /^[0-7]{1,3}/.exec(body.slice(i))![0];
      out.push(parseInt(oct, 8) & 0xff);
      i += oct.length - 1;
    } else out.push(e.charCodeAt(0));
  }
  return out;
}

/**
 * One token at the sticky position: whitespace, comments, a string, <cells>,
 * [bytes], a /directive/, a name (of a node, property or label), punctuation.
 */
const TOKEN = /(\s+|\/\*[\s\S]*?\*\/|\/\/[^\n]*)|"((?:[^"\\]|\\[\s\S])*)"|<([^>]*)>|\[([^\]]*)\]|\/([a-z0-9-]+)\/|([A-Za-z0-9,._+*#?@-]+)|([{};=,:/&])/y;

const UNTERMINATED: Record<string, string> = { '"': 'string', '<': 'cell list', '[': 'byte string', '/': 'comment' };

/** Split dts text into tokens, dropping comments and whitespace. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  for (let i = 0; i < text.length;) {
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(text);
    if (!m) {
      const c = text[i]!;
      const what = UNTERMINATED[c];
      throw new DtError(`dts line ${line}: ${what ? `unterminated ${what}` : `unexpected character ${JSON.stringify(c)}`}`);
    }
    const [all, skip, str, cells, bytes, directive, word, punct] = m;
    if (str !== undefined) tokens.push({ kind: 'string', bytes: unescape(str, line), line });
    else if (cells !== undefined) tokens.push({ kind: 'cells', text: cells, line });
    else if (bytes !== undefined) tokens.push({ kind: 'bytes', text: bytes, line });
    else if (directive !== undefined) tokens.push({ kind: 'directive', text: directive, line });
    else if (word !== undefined) tokens.push({ kind: 'word', text: word, line });
    else if (punct !== undefined) tokens.push({ kind: 'punct', text: punct, line });
    else if (skip === undefined) throw new Error('Internal error: dts token without a kind');
    for (let j = all.indexOf('\n'); j >= 0; j = all.indexOf('\n', j + 1)) line++;
    i += all.length;
  }
  return tokens;
}

/** A number as dtc writes it in a cell list (hex, octal or decimal). */
function parseNumber(text: string, line: number): bigint {
  if (!/^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)[uUlL]*$/.test(text)) {
    throw new DtError(`dts line ${line}: ${JSON.stringify(text)} is not a number (references and expressions are not supported)`);
  }
  const digits = text.replace(/[uUlL]+$/, '');
  return /^0[0-7]+$/.test(digits) ? BigInt('0o' + digits.slice(1)) : BigInt(digits);
}

/**
 * Parse dtc's dts output into a tree. Throws DtError with a line number on anything else.
 * One function on purpose (longer than most): a recursive-descent parser whose
 * small readers share the cursor and the line count as closures.
 */
export function parseDts(text: string): DtTree {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const fail = (what: string): never => {
    const t = peek();
    throw new DtError(`dts line ${t?.line ?? 'end'}: expected ${what}${t ? `, found ${'text' in t ? JSON.stringify(t.text) : 'a string'}` : ''}`);
  };
  const expect = (text: string): void => {
    const t = peek();
    if (!t || t.kind !== 'punct' || t.text !== text) fail(`"${text}"`);
    pos++;
  };
  const punctAt = (at: number, text: string): boolean => {
    const t = tokens[at];
    return t?.kind === 'punct' && t.text === text;
  };
  const isPunct = (text: string): boolean => punctAt(pos, text);
  const number = (): bigint => {
    const t = peek();
    if (t?.kind !== 'word') return fail('a number');
    pos++;
    return parseNumber(t.text, t.line);
  };

  const value = (): number[] => {
    const t = peek();
    let bits = 32;
    if (t?.kind === 'directive' && t.text === 'bits') {
      pos++;
      bits = Number(number());
      if (![8, 16, 32, 64].includes(bits)) fail('/bits/ 8, 16, 32 or 64');
    }
    const v = peek();
    if (!v) return fail('a property value');
    pos++;
    if (v.kind === 'string' && bits === 32) return [...v.bytes, 0];
    if (v.kind === 'bytes' && bits === 32) {
      const hex = v.text.replace(/\s+/g, '');
      if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new DtError(`dts line ${v.line}: bad byte string [${v.text}]`);
      return hex.match(/../g)?.map((h) => parseInt(h, 16)) ?? [];
    }
    if (v.kind === 'cells') {
      const out: number[] = [];
      for (const word of v.text.split(/\s+/).filter((w) => w !== '')) {
        const n = parseNumber(word, v.line) & ((1n << BigInt(bits)) - 1n);
        for (let shift = bits - 8; shift >= 0; shift -= 8) out.push(Number((n >> BigInt(shift)) & 0xffn));
      }
      return out;
    }
    return fail('a string, <cells> or [bytes]');
  };

  const labels = (): string[] => {
    const out: string[] = [];
    for (let t = peek(); t?.kind === 'word' && punctAt(pos + 1, ':'); t = peek()) {
      out.push(t.text);
      pos += 2;
    }
    return out;
  };

  // Child lookup by name, so a redefined node merges (and a wide node stays linear to parse).
  const index = new Map<DtNode, Map<string, DtNode>>();
  const childNamed = (node: DtNode, name: string): DtNode => {
    let names = index.get(node);
    if (!names) index.set(node, (names = new Map()));
    let child = names.get(name);
    if (!child) {
      child = new DtNode(name, node);
      node.children.push(child);
      names.set(name, child);
    }
    return child;
  };

  /** The body of a node after its "{", up to and including "};". */
  const body = (node: DtNode): void => {
    while (!isPunct('}')) {
      const own = labels();
      const t = peek();
      if (t?.kind === 'directive') throw new DtError(`dts line ${t.line}: /${t.text}/ is not supported here`);
      if (t?.kind !== 'word') return fail('a property or node name');
      pos++;
      if (isPunct('{')) {
        pos++;
        const child = childNamed(node, t.text);
        for (const l of own) if (!child.labels.includes(l)) child.labels.push(l);
        body(child);
        continue;
      }
      const bytes: number[] = [];
      if (isPunct('=')) {
        pos++;
        // A loop, not push(...): a property can hold more bytes than a call takes arguments.
        for (const b of value()) bytes.push(b);
        while (isPunct(',')) {
          pos++;
          for (const b of value()) bytes.push(b);
        }
      }
      expect(';');
      node.props.set(t.text, new DtProperty(t.text, Uint8Array.from(bytes)));
    }
    expect('}');
    expect(';');
  };

  const root = new DtNode('');
  const memreserve: Range[] = [];
  while (peek()) {
    const t = peek()!;
    if (t.kind === 'directive' && (t.text === 'dts-v1' || t.text === 'plugin')) {
      pos++;
      expect(';');
    } else if (t.kind === 'directive' && t.text === 'memreserve') {
      pos++;
      labels();
      const start = number();
      const size = number();
      expect(';');
      memreserve.push({
        start: joinCells([Number(start >> 32n), Number(start & 0xffffffffn)]),
        size: joinCells([Number(size >> 32n), Number(size & 0xffffffffn)]),
      });
    } else {
      const own = labels();
      if (!isPunct('/')) fail('"/ {" (the root node)');
      pos++;
      expect('{');
      for (const l of own) root.labels.push(l);
      body(root);
    }
  }
  return new DtTree(root, memreserve);
}
