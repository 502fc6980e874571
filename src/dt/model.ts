/**
 * An in-memory device tree: nodes with full paths, properties as raw bytes,
 * and the lookups the checks need (aliases, phandles, labels, `reg` decoded
 * with the parent's cells). Built by parse.ts from dtc's own dts output; it
 * never reads a DTB itself.
 */
import type { Range } from '../model/boot.js';

/** A device tree the user gave us is malformed or not what dtc produces. */
export class DtError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DtError';
  }
}

/** One property: its name and value bytes, with typed views. */
export class DtProperty {
  constructor(
    readonly name: string,
    readonly bytes: Uint8Array,
  ) {}

  get isEmpty(): boolean {
    return this.bytes.length === 0;
  }

  /** The value as a string list; undefined unless it is NUL-terminated strings (empty → []). */
  asStrings(): string[] | undefined {
    const b = this.bytes;
    if (b.length === 0) return [];
    if (b[b.length - 1] !== 0) return undefined;
    return Buffer.from(b.buffer, b.byteOffset, b.length - 1)
      .toString('utf8')
      .split('\0');
  }

  /** The first string of the value, if the value is a string list. */
  asString(): string | undefined {
    return this.asStrings()?.[0];
  }

  /** The value as big-endian u32 cells; undefined unless its length is a multiple of 4. */
  asCells(): number[] | undefined {
    const b = this.bytes;
    if (b.length % 4 !== 0) return undefined;
    const view = new DataView(b.buffer, b.byteOffset, b.length);
    const cells: number[] = [];
    for (let i = 0; i < b.length; i += 4) cells.push(view.getUint32(i));
    return cells;
  }

  /** The value as one u32 (the first cell). */
  asU32(): number | undefined {
    const b = this.bytes;
    return b.length >= 4 ? new DataView(b.buffer, b.byteOffset, b.length).getUint32(0) : undefined;
  }
}

/** One node; `path` is the full path ("/ocp/serial@4806a000"), "/" for the root. */
export class DtNode {
  readonly children: DtNode[] = [];
  readonly props = new Map<string, DtProperty>();
  /** Labels from the source or from /__symbols__ ("uart1"). */
  readonly labels: string[] = [];

  constructor(
    readonly name: string,
    readonly parent?: DtNode,
  ) {}

  get path(): string {
    if (!this.parent) return '/';
    return this.parent.parent ? `${this.parent.path}/${this.name}` : `/${this.name}`;
  }

  /** The name without its unit address ("serial" for "serial@4806a000"). */
  get baseName(): string {
    const at = this.name.indexOf('@');
    return at < 0 ? this.name : this.name.slice(0, at);
  }

  /** The unit address after '@', if any. */
  get unitAddress(): string | undefined {
    const at = this.name.indexOf('@');
    return at < 0 ? undefined : this.name.slice(at + 1);
  }

  prop(name: string): DtProperty | undefined {
    return this.props.get(name);
  }
  has(name: string): boolean {
    return this.props.has(name);
  }
  strings(name: string): string[] | undefined {
    return this.props.get(name)?.asStrings();
  }
  string(name: string): string | undefined {
    return this.props.get(name)?.asString();
  }
  cells(name: string): number[] | undefined {
    return this.props.get(name)?.asCells();
  }
  u32(name: string): number | undefined {
    return this.props.get(name)?.asU32();
  }

  child(name: string): DtNode | undefined {
    return this.children.find((c) => c.name === name);
  }

  /** `status`, when the node has one. */
  get status(): string | undefined {
    return this.string('status');
  }

  /** Enabled as the DT spec defines it: no status, "okay" or "ok". */
  isEnabled(): boolean {
    const s = this.status;
    return s === undefined || s === 'okay' || s === 'ok';
  }

  /** Whether `compatible` holds any of the given strings. */
  isCompatible(...compatibles: string[]): boolean {
    const list = this.strings('compatible') ?? [];
    return compatibles.some((c) => list.includes(c));
  }
}

/** Node-name comparison as libfdt does it: exact, or "name" matching "name@unit". */
function nameMatches(node: DtNode, component: string): boolean {
  return node.name === component || (!component.includes('@') && node.baseName === component);
}

/** A whole tree with lookups. */
export class DtTree {
  private readonly phandles = new Map<number, DtNode>();

  constructor(
    readonly root: DtNode,
    /** The /memreserve/ entries of the blob. */
    readonly memreserve: Range[] = [],
  ) {
    for (const node of this.findNodes(() => true)) {
      const ph = node.u32('phandle') ?? node.u32('linux,phandle');
      if (ph !== undefined && ph !== 0 && ph !== 0xffffffff) this.phandles.set(ph, node);
    }
    const symbols = root.child('__symbols__');
    for (const [label, prop] of symbols?.props ?? []) {
      const target = prop.asString();
      const node = target === undefined ? undefined : this.nodeAt(target);
      if (node && !node.labels.includes(label)) node.labels.push(label);
    }
  }

  /** The node at a full path ("/ocp/serial@4806a000"); components may omit the unit address, as in libfdt. */
  nodeAt(path: string): DtNode | undefined {
    if (!path.startsWith('/')) return undefined;
    let node: DtNode | undefined = this.root;
    for (const component of path.split('/').filter((c) => c !== '')) {
      node = node.children.find((c) => c.name === component) ?? node.children.find((c) => nameMatches(c, component));
      if (!node) return undefined;
    }
    return node;
  }

  /** Every node (depth first, in document order) for which `pred` holds. */
  findNodes(pred: (node: DtNode) => boolean): DtNode[] {
    const out: DtNode[] = [];
    const walk = (node: DtNode) => {
      if (pred(node)) out.push(node);
      node.children.forEach(walk);
    };
    walk(this.root);
    return out;
  }

  /** Nodes whose `compatible` holds any of the given strings. */
  compatible(...compatibles: string[]): DtNode[] {
    return this.findNodes((n) => n.isCompatible(...compatibles));
  }

  /** The /aliases table: alias → path. */
  aliases(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [name, prop] of this.root.child('aliases')?.props ?? []) {
      const value = prop.asString();
      if (value !== undefined && name !== 'name' && name !== 'phandle') out.set(name, value);
    }
    return out;
  }

  /**
   * Resolve what Xen's dtuart= or /chosen/stdout-path accept: a path ("/ocp/serial@…")
   * or an alias ("serial0"). `path` is where it points (undefined for an unknown alias).
   */
  resolve(aliasOrPath: string): { alias?: string; path?: string; node?: DtNode } {
    if (aliasOrPath.startsWith('/')) return { path: aliasOrPath, node: this.nodeAt(aliasOrPath) };
    const path = this.aliases().get(aliasOrPath);
    if (path === undefined) return { alias: aliasOrPath };
    return { alias: aliasOrPath, path, node: this.nodeAt(path) };
  }

  byPhandle(phandle: number): DtNode | undefined {
    return this.phandles.get(phandle);
  }

  byLabel(label: string): DtNode | undefined {
    return this.findNodes((n) => n.labels.includes(label))[0];
  }

  /** The node's `#address-cells`/`#size-cells` for its children (DT spec defaults 2 and 1). */
  cellsOf(node: DtNode): { address: number; size: number } {
    return { address: node.u32('#address-cells') ?? 2, size: node.u32('#size-cells') ?? 1 };
  }

  /** The node's `reg` as ranges, decoded with its parent's cells; undefined without (valid) reg. */
  reg(node: DtNode): Range[] | undefined {
    const cells = node.cells('reg');
    if (!cells || !node.parent) return undefined;
    const { address, size } = this.cellsOf(node.parent);
    const step = address + size;
    if (step === 0 || cells.length % step !== 0) return undefined;
    const out: Range[] = [];
    for (let i = 0; i < cells.length; i += step) {
      out.push({ start: joinCells(cells.slice(i, i + address)), size: joinCells(cells.slice(i + address, i + step)) });
    }
    return out;
  }

  /** Where the node's interrupts go: its own or its nearest ancestor's `interrupt-parent`. */
  interruptParent(node: DtNode): DtNode | undefined {
    for (let n: DtNode | undefined = node; n; n = n.parent) {
      const ph = n.u32('interrupt-parent');
      if (ph !== undefined) return this.byPhandle(ph);
    }
    return undefined;
  }
}

/** Cells (most significant first) as one number; exact below 2^53. */
export function joinCells(cells: readonly number[]): number {
  return cells.reduce((acc, c) => acc * 0x1_0000_0000 + c, 0);
}
