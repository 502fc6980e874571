/**
 * The boot domain: what a board says about memory, Xen, dom0, the device tree
 * and U-Boot, as plain data (already validated and with sizes parsed), and
 * what the planners compute from it. Every module under src/boot/, src/dt/
 * and src/check/ works on these types; none of them reads YAML.
 */

/** A range of physical memory. Addresses fit in a JS number (< 2^53). */
export interface Range {
  start: number;
  size: number;
}

export interface NamedRange extends Range {
  name: string;
}

/** The boot modules a bootloader places in RAM before jumping to Xen (a dom0less domU's kernel and ramdisk too). */
export type ModuleKind = 'xen' | 'kernel' | 'initrd' | 'dtb' | 'script' | 'domu-kernel' | 'domu-ramdisk';

/** A module's identity: its kind, and for a domU's module the domU's name. */
export interface ModuleRef {
  kind: ModuleKind;
  /** The dom0less domU a domu-kernel or domu-ramdisk belongs to. */
  domain?: string;
}

/** A module's name in plans, errors and maps: "kernel", "domU0 kernel". */
export function moduleId(m: ModuleRef): string {
  if (m.domain === undefined) return m.kind;
  return `${m.domain} ${m.kind === 'domu-kernel' ? 'kernel' : m.kind === 'domu-ramdisk' ? 'ramdisk' : m.kind}`;
}

/**
 * A dom0less guest: Xen builds it at boot from modules under /chosen/<name>
 * (docs/misc/arm/device-tree/booting.txt), with no dom0 toolstack.
 */
export interface DomU {
  /** The /chosen node's name. */
  name: string;
  /** Its RAM in bytes (written in KiB, as Xen reads it). */
  memory: number;
  vcpus: number;
  bootargs?: string;
  /** An emulated PL011 whose output Xen prints as "(XEN) DOMn: …". */
  vpl011: boolean;
  /** Whether a ramdisk module is loaded for it. */
  ramdisk: boolean;
}

export interface ModuleRequest extends ModuleRef {
  /** Size of the file as built, in bytes. */
  size: number;
  /** Address the board fixes (e.g. Xen's uImage load address); otherwise the planner chooses. */
  fixed?: number;
  /** Extra room after the module (the DTB grows when fixups and /chosen are added). */
  growRoom?: number;
  /** The board key that sets this module's address, named in errors: "xen.load". */
  key: string;
}

export interface BootMemory {
  ram: Range[];
  /** Alignment of planned modules (default 2 MiB). */
  align: number;
  /** Regions nothing may be loaded into: U-Boot's relocated copy, firmware carve-outs. */
  reserved: ReservedRange[];
}

export interface ReservedRange extends NamedRange {
  /** Taken only while the bootloader runs (U-Boot's relocated copy): Xen may relocate itself over it. */
  loaderOnly?: boolean;
}

export interface Placement extends NamedRange, ModuleRef {
  /** True when the board fixed the address, false when the planner chose it. */
  fixed: boolean;
  key: string;
}

/** What the memory planner produces: where each module goes, and what Xen will do with memory. */
export interface MemoryPlan {
  ram: Range[];
  placements: Placement[];
  /** Where Xen relocates itself (the top of the highest RAM bank), when known. */
  xenRelocated?: Range;
  /** dom0's memory when the board pins it (dom0_mem and a 1:1 map), for the picture and checks. */
  dom0?: Range[];
  reserved: ReservedRange[];
}

/** One problem with a memory plan: names both regions and the board key to change. */
export interface PlanError {
  message: string;
  /** The board key to change, e.g. "xen.load" or "memory.ram". */
  key: string;
}

export type PlanResult = { ok: true; plan: MemoryPlan } | { ok: false; errors: PlanError[]; partial: MemoryPlan };

/**
 * A point a boot must pass, recognised by text on a console. The serial line
 * carries several consoles: the firmware's, Xen's and dom0's ("host"), and a
 * dom0less domU's, which Xen relays as "(XEN) DOMn: …" (its vpl011) or
 * "(d1) …" (its early console through hypercalls).
 */
export interface Milestone {
  name: string;
  /** Text a line contains; with several, any of them. */
  match: string | readonly string[];
  /** Seconds allowed after the milestone before it on the same console (after the start for the first). */
  timeout?: number;
  /** Not every image prints it (one whose boot script another tool wrote): missing it is no failure. */
  optional?: boolean;
  /** The dom0less domain whose console prints it; none: the host console (U-Boot, Xen, dom0). */
  domain?: number;
}

/** The milestone presets a board may name in qemu.milestones. */
export const MILESTONE_PRESET_NAMES = ['xen-ci'] as const;
export type MilestonePreset = (typeof MILESTONE_PRESET_NAMES)[number];

/** An edit of the device tree, as the board declares it (dtb.fixups). */
export type DtEdit =
  | { op: 'set'; path: string; prop: string; value: DtValue }
  /** Set `prop` to the phandle of the node at `target`, read from the DTB being edited (interrupt-parent = <&gic>). */
  | { op: 'set-phandle'; path: string; prop: string; target: string }
  | { op: 'delete-prop'; path: string; prop: string }
  | { op: 'add-node'; path: string }
  | { op: 'delete-node'; path: string }
  | { op: 'enable'; path: string }
  | { op: 'disable'; path: string }
  | { op: 'prune-reserved-memory'; keep: 'inside-dom0' };

/** A property value: a string list, cells (u32s), or raw bytes. */
export type DtValue = { strings: string[] } | { cells: number[] } | { bytes: number[] } | { empty: true };

/** How a board's U-Boot boots Xen. */
export interface BootConfig {
  /** "u-boot" (boot.scr with `source`), or "u-boot-2014" (uEnv.txt with uenvcmd, as TI's 2014 U-Boot reads). */
  firmware: 'u-boot' | 'u-boot-2014';
  /** U-Boot interface and partition the files are loaded from: "mmc 0:1", "virtio 0:1". */
  medium: string;
  /** The U-Boot command that starts Xen: bootm for a uImage, bootz for a zImage. */
  command: 'bootm' | 'bootz' | 'booti';
  /** "bake": fixups are applied to the DTB at build time; "runtime": `fdt` commands in the script edit the firmware's DTB. */
  dtMode: 'bake' | 'runtime';
  /** The binary environment, when the board declares one (mkenvimage). */
  env?: { size: number; redundant: boolean };
  /** U-Boot commands run before the loads, one command each (register writes the board needs before Xen starts). */
  setup?: string[];
}

/** File names on the boot medium and their planned addresses, as the script loads them. */
export interface BootFile extends ModuleRef {
  file: string;
  start: number;
  size: number;
}

export interface XenCommandLines {
  xen: string;
  dom0: string;
}
