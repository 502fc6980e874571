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
    return YamlFile.parse(path, readFileSync(path, 'utf8'));
  }

  static parse(path: string, text: string): { file: YamlFile; diagnostics: Diagnostic[] } {
    const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, strict: true, version: '1.2' });
    const diagnostics: Diagnostic[] = doc.errors.map((e) => ({
      severity: 'error',
      file: path,
      span: [e.pos[0], Math.max(e.pos[1], e.pos[0] + 1)],
      message: yamlMessage(e.code, e.message),
    }));
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

function yamlMessage(code: string, message: string): string {
  const first = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'duplicate key: each key may appear only once in a map';
    case 'TAB_AS_INDENT':
      return 'tab used for indentation; YAML indents with spaces';
    default:
      return `YAML syntax error: ${first.charAt(0).toLowerCase()}${first.slice(1)}`;
  }
}
