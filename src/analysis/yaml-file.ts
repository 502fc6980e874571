import { readFileSync } from 'node:fs';
import { isMap, isPair, isScalar, isSeq, parseDocument, visit, type Document, type Node, type Pair } from 'yaml';
import type { Diagnostic } from './diagnostics.js';

export type PathKey = string | number;

/** A YAML file parsed with source positions kept for every key and value. */
export class YamlFile {
  private constructor(
    readonly path: string,
    readonly text: string,
    readonly doc: Document.Parsed,
  ) {}

  /** Parses a file; syntax errors come back as diagnostics, never thrown. */
  static read(path: string): { file: YamlFile; diagnostics: Diagnostic[] } {
    const bytes = readFileSync(path);
    const encoding = notUtf8(bytes);
    if (encoding) return { file: new YamlFile(path, '', parseDocument('')), diagnostics: [{ severity: 'error', file: path, message: encoding }] };
    return YamlFile.parse(path, bytes.toString('utf8'));
  }

  static parse(path: string, text: string): { file: YamlFile; diagnostics: Diagnostic[] } {
    const bound = outOfBounds(text);
    if (bound) return { file: new YamlFile(path, text, parseDocument('')), diagnostics: [{ severity: 'error', file: path, ...bound }] };
    const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, strict: true, version: '1.2' });
    // The parser often reports one mistake several times from the same place: keep the first, over the widest range.
    const byStart = new Map<number, { code: string; message: string; pos: [number, number] }>();
    for (const e of doc.errors) {
      const known = byStart.get(e.pos[0]);
      if (known) known.pos[1] = Math.max(known.pos[1], e.pos[1]);
      else byStart.set(e.pos[0], { code: e.code, message: e.message, pos: [e.pos[0], e.pos[1]] });
    }
    const diagnostics: Diagnostic[] = [...byStart.values()].map((e) => {
      const { span, message } = explainSyntaxError(text, e.code, e.message, e.pos);
      return { severity: 'error', file: path, span, message };
    });
    // Addresses written in hex (0x80200000) stay strings, so they print as written.
    visit(doc, {
      Scalar(_key, node) {
        if (typeof node.value === 'number' && (node.format === 'HEX' || node.format === 'OCT' || node.format === 'BIN') && node.source) {
          node.value = node.source;
        }
      },
    });
    return { file: new YamlFile(path, text, doc), diagnostics };
  }

  /** The plain data, for validation. */
  toJS(): unknown {
    return this.doc.toJS({ maxAliasCount: 100 });
  }

  /** The node at a path (a value), if there is one. */
  nodeAt(path: readonly PathKey[]): Node | undefined {
    let node: unknown = this.doc.contents;
    for (const key of path) {
      if (isMap(node)) node = node.items.find((p) => keyName(p) === String(key))?.value;
      else if (isSeq(node) && typeof key === 'number') node = node.items[key];
      else return undefined;
    }
    return node as Node | undefined;
  }

  /** The key node of the last element of a path, e.g. the `commit:` in source.commit. */
  keyAt(path: readonly PathKey[]): Node | undefined {
    if (path.length === 0) return undefined;
    const parent = this.nodeAt(path.slice(0, -1));
    if (!isMap(parent)) return undefined;
    const pair = parent.items.find((p) => keyName(p) === String(path[path.length - 1]));
    return pair?.key as Node | undefined;
  }

  /**
   * The best span for a path: the value, else its key, else the closest existing
   * ancestor's key (for a missing key), else the start of the document.
   */
  spanAt(path: readonly PathKey[], prefer: 'value' | 'key' = 'value'): [number, number] {
    for (let depth = path.length; depth >= 0; depth--) {
      const sub = path.slice(0, depth);
      const candidates = prefer === 'key' || depth < path.length ? [this.keyAt(sub), this.nodeAt(sub)] : [this.nodeAt(sub), this.keyAt(sub)];
      for (const node of candidates) {
        const span = spanOf(node);
        if (span && depth > 0) return span;
      }
    }
    const first = isMap(this.doc.contents) ? this.doc.contents.items[0] : undefined;
    return spanOf(first?.key as Node | undefined) ?? [0, 1];
  }

  /** Span of `needle` inside the scalar at path (e.g. a `${var}` inside a string), else the scalar. */
  spanWithin(path: readonly PathKey[], needle: string): [number, number] {
    const node = this.nodeAt(path);
    const span = spanOf(node) ?? this.spanAt(path);
    const at = this.text.slice(span[0], span[1]).indexOf(needle);
    return at === -1 ? span : [span[0] + at, span[0] + at + needle.length];
  }

  /** Span of the whole text a node covers (key through value), for hashing its definition. */
  definitionText(path: readonly PathKey[]): string {
    const key = this.keyAt(path);
    const value = this.nodeAt(path);
    const start = key?.range?.[0] ?? value?.range?.[0];
    const end = value?.range?.[1] ?? key?.range?.[1];
    return start === undefined || end === undefined ? '' : this.text.slice(start, end);
  }

  /** Keys of the map at a path, in file order. */
  keysAt(path: readonly PathKey[]): string[] {
    const node = this.nodeAt(path);
    return isMap(node) ? node.items.map((p) => keyName(p)) : [];
  }
}

function keyName(pair: Pair<unknown, unknown>): string {
  const key = pair.key;
  if (isScalar(key)) return String(key.value);
  return isPair(key) ? '' : String(key);
}

function spanOf(node: Node | undefined | null): [number, number] | undefined {
  const range = node?.range;
  if (!range) return undefined;
  return [range[0], Math.max(range[1], range[0] + 1)];
}

/** Turns the parser's error into one a person can act on, pointing where the mistake is. */
function explainSyntaxError(text: string, code: string, message: string, pos: [number, number]): { span: [number, number]; message: string } {
  const fallback = { span: [pos[0], Math.max(pos[1], pos[0] + 1)] as [number, number], message: yamlMessage(message) };
  switch (code) {
    case 'DUPLICATE_KEY': {
      const key = /^[^\s:#]+|^"[^"]*"|^'[^']*'/.exec(text.slice(pos[0]))?.[0];
      if (!key) return { ...fallback, message: 'duplicate key: each key may appear only once in a map' };
      const lineStart = text.lastIndexOf('\n', pos[0] - 1) + 1;
      const indent = text.slice(lineStart, pos[0]);
      const before = text.slice(0, lineStart).split('\n');
      const firstLine = before.findIndex((l) => l.startsWith(indent + key + ':') && /^\s*$/.test(indent));
      const parent = [...before].reverse().find((l) => /^\s*[^\s#][^:]*:/.test(l) && leading(l) < indent.length);
      const where = parent ? ` in ${parent.trim().replace(/:.*$/, '')}` : '';
      const first = firstLine >= 0 ? ` (first defined on line ${firstLine + 1})` : '';
      return { span: [pos[0], pos[0] + key.length], message: `duplicate key "${key.replace(/^["']|["']$/g, '')}"${where}${first}` };
    }
    case 'TAB_AS_INDENT':
      return { ...fallback, message: 'tab used for indentation; YAML indents with spaces' };
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
    case 'UNEXPECTED_TOKEN': {
      const flow = /Flow (sequence|mapping)/.exec(message);
      if (!flow) break;
      const open = flow[1] === 'sequence' ? '[' : '{';
      const close = open === '[' ? ']' : '}';
      const at = unclosedBracket(text, pos[0], open, close);
      if (at === undefined) break;
      return {
        span: [at, at + 1],
        message: `YAML syntax error: this "${open}" is never closed: a flow ${open === '[' ? 'list' : 'map'} must end with "${close}"`,
      };
    }
    case 'BLOCK_AS_IMPLICIT_KEY':
    case 'MULTILINE_IMPLICIT_KEY': {
      // A key indented deeper than its siblings, e.g. "   commit:" under "  git:".
      const lines = text.split('\n');
      let offset = 0;
      let previousKey: { indent: number; name: string } | undefined;
      for (const line of lines) {
        const key = /^(\s*)([^\s#:][^:]*):(\s|$)/.exec(line);
        if (offset > pos[0] && offset <= pos[1] + 1 && key && previousKey && key[1]!.length > previousKey.indent) {
          const start = offset + key[1]!.length;
          return {
            span: [start, start + key[2]!.length],
            message: `YAML syntax error: bad indentation: "${key[2]}" is indented ${key[1]!.length} spaces, the keys above it ("${previousKey.name}") ${previousKey.indent}`,
          };
        }
        if (key && offset <= pos[0] + 1) previousKey = { indent: key[1]!.length, name: key[2]! };
        offset += line.length + 1;
      }
      break;
    }
  }
  return fallback;
}

function leading(line: string): number {
  return line.length - line.trimStart().length;
}

/** The offset of the last `open` before `end` that no `close` matches (quotes are skipped). */
function unclosedBracket(text: string, end: number, open: string, close: string): number | undefined {
  const stack: number[] = [];
  let quote: string | undefined;
  for (let i = 0; i < end && i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) i = text.indexOf('\n', i) === -1 ? end : text.indexOf('\n', i);
    else if (c === open) stack.push(i);
    else if (c === close) stack.pop();
  }
  return stack.at(-1);
}

function yamlMessage(message: string): string {
  const first = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  return `YAML syntax error: ${first.charAt(0).toLowerCase()}${first.slice(1)}`;
}

/** A recipe or board line is short, and its nesting shallow: beyond these the file is not one (or it is an attack on the parser). */
const MAX_LINE = 64 * 1024;
const MAX_DEPTH = 64;

/**
 * The first place `text` goes beyond what a recipe or board file can be: a
 * line over 64 KiB, or flow collections nested deeper than 64 levels (which
 * would exhaust the parser's stack). Checked before parsing.
 */
function outOfBounds(text: string): { span: [number, number]; message: string; hint: string } | undefined {
  let lineStart = 0;
  let line = 1;
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i <= text.length; i++) {
    const c = text[i];
    if (c === '\n' || i === text.length) {
      if (i - lineStart > MAX_LINE) {
        return {
          span: [lineStart, lineStart + 1],
          message: `line ${line} is ${Math.round((i - lineStart) / 1024)} KiB long; a recipe or board line is never longer than ${MAX_LINE / 1024} KiB`,
          hint: 'is this the right file? split long values (lists go one entry per line)',
        };
      }
      lineStart = i + 1;
      line++;
      quote = undefined;
      continue;
    }
    if (quote) {
      if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      const eol = text.indexOf('\n', i);
      i = (eol === -1 ? text.length : eol) - 1;
    } else if (c === '[' || c === '{') {
      if (++depth > MAX_DEPTH)
        return {
          span: [i, i + 1],
          message: `the collections here are nested more than ${MAX_DEPTH} levels deep`,
          hint: 'a recipe or board is a few levels deep; is this the right file?',
        };
    } else if (c === ']' || c === '}') depth = Math.max(0, depth - 1);
  }
  return undefined;
}

/** Why `bytes` are not a UTF-8 text (a UTF-16 file, a byte that is not UTF-8), or undefined. */
function notUtf8(bytes: Buffer): string | undefined {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) return 'the file is UTF-16: save it as UTF-8';
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return undefined;
  } catch {
    const at = firstBadByte(bytes);
    return `byte ${at + 1} (0x${bytes[at]!.toString(16).padStart(2, '0')}, line ${bytes.subarray(0, at).toString('latin1').split('\n').length}) is not UTF-8: save the file as UTF-8`;
  }
}

/** Where the first byte that starts no valid UTF-8 sequence is (a linear scan; 0 when only the decoder can tell). */
function firstBadByte(b: Buffer): number {
  for (let i = 0; i < b.length;) {
    const c = b[i]!;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : (c & 0xf0) === 0xe0 ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (i + k >= b.length || (b[i + k]! & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return 0;
}
