import { parseDom0Mem } from '../boot/sizes.js';
import { checkCodeDigest } from '../check/code.js';
import { fixupEdit } from './board-fixups.js';
import { domusOf, readDomus, type DomUInput } from './board-domus.js';
import { boardTask, deployFile as deployFileIn, exportedArtifacts, sizeReader } from './board-common.js';
import type { BootConfig, BootMemory, DtEdit, ModuleKind, Range, ReservedRange } from '../model/boot.js';
import type { BootMediumFile, FileRef, PlannedModule, TaskNode } from '../model/graph.js';
import type { Board } from '../model/schema.js';
import type { Loaded } from './load.js';
import { didYouMean } from './suggest.js';
import type { ErrorFn } from './context.js';
import type { PathKey } from './yaml-file.js';

/** The component name of the tasks a board's boot sections make. */
export const BOOT = 'boot';
const DEFAULT_DTB_GROW_ROOM = 64 * 1024;

import type { Artifact } from './board-common.js';
type Num = (value: number | string, at: PathKey[]) => number;
type BoardValue = Board & Required<Pick<Board, 'memory' | 'xen' | 'dom0' | 'boot'>>;

/** The boot sections read and checked, every artifact they name found: what the boot tasks are made from. */
interface BootInputs {
  b: BoardValue;
  dtb: NonNullable<Board['dtb']>;
  dtbMode: 'bake' | 'runtime';
  num: Num;
  deployFile: (name: string) => FileRef;
  node: (name: string, title: string, deps: string[], action: TaskNode['action'], outputs: FileRef[], tools: string[]) => TaskNode;
  xenArtifact: Artifact;
  kernel: Artifact;
  initrd?: Artifact;
  dtbArtifact?: Artifact;
  config?: Artifact;
  fixups: DtEdit[];
  dom0Ranges?: Range[];
  bootMemory: BootMemory;
  /** dom0less guests, with the artifacts of their modules. */
  domus: DomUInput[];
}

/**
 * The board-level tasks that turn built artifacts into a bootable set of
 * files: Xen's uImage, the memory plan (and its picture), the device tree with
 * Xen's /chosen and the board's fixups, the U-Boot script or uEnv.txt, and
 * the pre-flight check. They exist when the board has the boot sections
 * (memory, xen, dom0, boot; dtb optional).
 */
export function bootTasks(board: Loaded<Board>, boardDir: string, tasks: readonly TaskNode[], error: ErrorFn): TaskNode[] {
  const inputs = readBootSections(board, boardDir, tasks, error);
  if (!inputs) return [];
  const out: TaskNode[] = [];
  const xen = xenImage(inputs);
  if (xen.task) out.push(xen.task);
  const plan = planTask(inputs, xen);
  out.push(plan.task);
  const dtb = dtbTask(inputs, plan.json);
  if (dtb) out.push(dtb.task);
  out.push(scriptTask(inputs, xen.file, plan.json, dtb?.file));
  out.push(checkTask(inputs, plan.json, dtb?.file));
  return out;
}

/** The four boot sections, present together or not at all. */
function presentSections(board: Loaded<Board>, error: ErrorFn): BoardValue | undefined {
  const b = board.value;
  const file = board.file;
  const sections = (['memory', 'xen', 'dom0', 'boot'] as const).filter((s) => b[s] !== undefined);
  if (sections.length === 0 && b.dtb === undefined) return undefined;
  const missing = (['memory', 'xen', 'dom0', 'boot'] as const).filter((s) => b[s] === undefined);
  if (missing.length || !b.memory || !b.xen || !b.dom0 || !b.boot) {
    const first = sections[0] ?? 'dtb';
    error(
      file,
      [first],
      `a board that boots Xen needs the sections memory, xen, dom0 and boot; missing: ${missing.join(', ')}`,
      undefined,
      file.spanAt([first], 'key'),
    );
    return undefined;
  }
  return b as BoardValue;
}

/**
 * Reads the boot sections and checks what can be checked before anything is
 * built; undefined (errors reported) when they cannot boot. Longer than most on
 * purpose: every check runs, so that one analysis reports every problem at once.
 */
function readBootSections(board: Loaded<Board>, boardDir: string, tasks: readonly TaskNode[], error: ErrorFn): BootInputs | undefined {
  const b = presentSections(board, error);
  if (!b) return undefined;
  const file = board.file;
  const { memory, xen, dom0 } = b;
  const dtb = b.dtb ?? {};
  // Every artifact the components export, and the deploy task that makes it.
  const artifacts = exportedArtifacts(tasks);
  let ok = true;
  const problem = (...args: Parameters<ErrorFn>) => {
    ok = false;
    error(...args);
  };
  const artifact = (name: string, at: PathKey[]) => {
    const found = artifacts.get(name);
    if (!found) {
      problem(
        file,
        at,
        `no component exports an artifact "${name}"${didYouMean(name, artifacts.keys())}`,
        `artifacts: ${[...artifacts.keys()].sort().join(', ') || '(none: add exports to a recipe)'}`,
      );
    }
    return found;
  };
  const sizes = sizeReader(file, error);
  const num = sizes.num;
  const xenArtifact = artifact(xen.artifact, ['xen', 'artifact']);
  const kernel = artifact(dom0.kernel, ['dom0', 'kernel']);
  const initrd = dom0.initrd === undefined ? undefined : artifact(dom0.initrd, ['dom0', 'initrd']);
  const dtbMode = dtb.mode ?? 'bake';
  const dtbArtifact = dtb.artifact === undefined ? undefined : artifact(dtb.artifact, ['dtb', 'artifact']);
  const config = dom0.config === undefined ? undefined : artifact(dom0.config, ['dom0', 'config']);
  if (dtbMode === 'bake' && dtb.artifact === undefined) {
    const at = b.dtb ? ['dtb'] : ['boot'];
    problem(
      file,
      at,
      'baking device-tree fixups needs dtb.artifact (the DTB a component exports)',
      'or set dtb.mode: runtime when the firmware provides the DTB',
      file.spanAt(at, 'key'),
    );
  }
  if (xen.image === 'uimage' && xen.load === undefined) {
    problem(file, ['xen'], 'xen.image uimage needs xen.load: mkimage writes the load address into the uImage header', undefined, file.spanAt(['xen'], 'key'));
  }
  const fixups = (dtb.fixups ?? []).map((f, i) => fixupEdit(f, ['dtb', 'fixups', i], num));
  fixups.forEach((f, i) => {
    if (f.op !== 'set-phandle' || dtbMode !== 'runtime') return;
    problem(
      file,
      ['dtb', 'fixups', i, 'set', 'phandle'],
      'a phandle is read from the DTB at build time, and in dtb.mode runtime the firmware provides the DTB only at boot',
      'write the phandle as cells: [N] (fdtget -t x DTB PATH phandle), or use dtb.mode: bake',
    );
  });
  const dom0Ranges: Range[] | undefined = dom0.memory?.map((r, i) => ({
    start: num(r.start, ['dom0', 'memory', i, 'start']),
    size: num(r.size, ['dom0', 'memory', i, 'size']),
  }));
  if (fixups.some((f) => f.op === 'prune-reserved-memory') && !dom0Ranges) {
    problem(
      file,
      ['dtb', 'fixups'],
      'prune-reserved-memory needs dom0.memory: the range Xen gives dom0 (1:1)',
      'e.g. dom0: { memory: [{ start: 0xa8000000, size: 128M }] }',
    );
  }
  const bootMemory: BootMemory = {
    ram: memory.ram.map((r, i) => ({ start: num(r.start, ['memory', 'ram', i, 'start']), size: num(r.size, ['memory', 'ram', i, 'size']) })),
    align: memory.align === undefined ? 2 * 1024 * 1024 : num(memory.align, ['memory', 'align']),
    reserved: (memory.reserved ?? []).map((r, i): ReservedRange => ({
      name: r.name,
      start: num(r.start, ['memory', 'reserved', i, 'start']),
      size: num(r.size, ['memory', 'reserved', i, 'size']),
      ...(r['loader-only'] ? { loaderOnly: true } : {}),
    })),
  };
  if (!sizes.failed() && !fixedAddressesFit(b, bootMemory, num, (at, message, hint) => problem(file, at, message, hint))) ok = false;
  const domus = readDomus(b.domus ?? [], { file, num, artifact, problem });
  if (!ok || sizes.failed() || !xenArtifact || !kernel) return undefined;
  return {
    b,
    dtb,
    dtbMode,
    num,
    deployFile: (name) => deployFileIn(boardDir, name),
    node: (name, title, deps, action, outputs, tools) => boardTask(BOOT, boardDir, b.board, { name, title, deps, action, outputs, tools }),
    xenArtifact,
    kernel,
    ...(initrd ? { initrd } : {}),
    ...(dtbArtifact ? { dtbArtifact } : {}),
    ...(config ? { config } : {}),
    fixups,
    ...(dom0Ranges ? { dom0Ranges } : {}),
    bootMemory,
    domus,
  };
}

/** A fixed load address is checked now against RAM and the 32-bit bus, without waiting for the files' sizes. */
function fixedAddressesFit(b: BoardValue, memory: BootMemory, num: Num, problem: (at: PathKey[], message: string, hint: string) => void): boolean {
  const { xen, dom0, boot } = b;
  const inRam = (addr: number) => memory.ram.some((r) => addr >= r.start && addr < r.start + r.size);
  const ramText = memory.ram.map((r) => `0x${r.start.toString(16)}-0x${(r.start + r.size - 1).toString(16)}`).join(', ');
  const fixedAddresses: [PathKey[], number | string | undefined][] = [
    [['xen', 'load'], xen.load],
    [['dom0', 'load'], dom0.load],
    [['dom0', 'initrd-load'], dom0['initrd-load']],
  ];
  let ok = true;
  for (const [at, raw] of fixedAddresses) {
    if (raw === undefined) continue;
    const addr = num(raw, at);
    if (addr > 0xffffffff && boot.command !== 'booti') {
      ok = false;
      problem(
        at,
        `${at.join('.')} 0x${addr.toString(16)} is beyond 32 bits: U-Boot on a 32-bit ARM (bootm, bootz) cannot load there`,
        `an address inside RAM (${ramText})`,
      );
    } else if (!inRam(addr)) {
      ok = false;
      problem(
        at,
        `${at.join('.')} 0x${addr.toString(16)} is not in RAM (${ramText})`,
        'an address inside a RAM bank of memory.ram, or leave it out to have it planned',
      );
    }
  }
  return ok;
}

/** Xen as the bootloader loads it: the artifact itself, or a uImage made of it (bootm). */
function xenImage(i: BootInputs): { file: FileRef; deps: string[]; task?: TaskNode } {
  const { b, xenArtifact, num } = i;
  const xen = b.xen;
  if (xen.image !== 'uimage') return { file: xenArtifact.file, deps: [xenArtifact.producer] };
  const output = i.deployFile('boot/xen-uImage');
  const task = i.node(
    'xen-image',
    `mkimage -T kernel -a ${String(xen.load)} ${xen.artifact}`,
    [xenArtifact.producer],
    { kind: 'uimage', input: xenArtifact.file, output, load: num(xen.load!, ['xen', 'load']), name: `Xen for ${b.board}` },
    [output],
    ['mkimage'],
  );
  return { file: output, deps: [`${BOOT}:xen-image`], task };
}

/** The memory plan: where each module goes in RAM, as JSON and as a picture. */
function planTask(i: BootInputs, xenImg: { file: FileRef; deps: string[] }): { task: TaskNode; json: FileRef } {
  const { b, num, kernel, initrd, dtbArtifact, dtb } = i;
  const { xen, dom0 } = b;
  // A uImage is loaded anywhere and copied by bootm to its load address; a zImage runs where it is loaded.
  const xenFixed = xen.image === 'zimage' && xen.load !== undefined ? { fixed: num(xen.load, ['xen', 'load']) } : {};
  const modules: PlannedModule[] = [{ kind: 'xen', file: xenImg.file, key: xen.image === 'uimage' ? 'xen' : 'xen.load', ...xenFixed }];
  modules.push({ kind: 'kernel', file: kernel.file, key: 'dom0.load', ...(dom0.load !== undefined ? { fixed: num(dom0.load, ['dom0', 'load']) } : {}) });
  if (initrd) {
    const fixed = dom0['initrd-load'] !== undefined ? { fixed: num(dom0['initrd-load'], ['dom0', 'initrd-load']) } : {};
    modules.push({ kind: 'initrd', file: initrd.file, key: 'dom0.initrd-load', ...fixed });
  }
  const baked = i.dtbMode === 'bake' && dtbArtifact;
  if (baked) {
    const growRoom = dtb['grow-room'] === undefined ? DEFAULT_DTB_GROW_ROOM : num(dtb['grow-room'], ['dtb', 'grow-room']);
    modules.push({ kind: 'dtb', file: dtbArtifact.file, key: 'dtb', growRoom });
  }
  for (const { domu, kernel: k, ramdisk, at } of i.domus) {
    modules.push({ kind: 'domu-kernel', domain: domu.name, file: k.file, key: `domus.${at}.kernel` });
    if (ramdisk) modules.push({ kind: 'domu-ramdisk', domain: domu.name, file: ramdisk.file, key: `domus.${at}.ramdisk` });
  }
  const json = i.deployFile('memory-map.json');
  const svg = i.deployFile('memory-map.svg');
  const dom0Mem = parseDom0Mem(xen.bootargs);
  const deps = unique([
    ...xenImg.deps,
    kernel.producer,
    ...(initrd ? [initrd.producer] : []),
    ...(baked ? [dtbArtifact.producer] : []),
    ...i.domus.flatMap((d) => [d.kernel.producer, ...(d.ramdisk ? [d.ramdisk.producer] : [])]),
  ]);
  const action: TaskNode['action'] = {
    kind: 'boot-plan',
    memory: i.bootMemory,
    modules,
    xenRelocates: true,
    ...(xen.image === 'uimage' && xen.load !== undefined ? { bootmCopy: { load: num(xen.load, ['xen', 'load']) } } : {}),
    ...(i.dom0Ranges ? { dom0: i.dom0Ranges } : {}),
    ...(dom0Mem !== undefined ? { dom0Mem } : {}),
    json,
    svg,
  };
  return { task: i.node('plan', 'plan load addresses and draw the memory map', deps, action, [json, svg], []), json };
}

/** In dtb.mode bake: the board's DTB with /chosen, the modules and the fixups written in. */
function dtbTask(i: BootInputs, plan: FileRef): { task: TaskNode; file: FileRef } | undefined {
  const { dtb, dtbArtifact, fixups } = i;
  if (i.dtbMode !== 'bake' || !dtbArtifact || !dtb.artifact) return undefined;
  const file = i.deployFile(`boot/${dtb.artifact}`);
  const cmdlines = { xen: i.b.xen.bootargs, dom0: i.b.dom0.bootargs };
  const task = i.node(
    'dtb',
    `add /chosen, modules and ${fixups.length} fixup${fixups.length === 1 ? '' : 's'} to ${dtb.artifact}`,
    [`${BOOT}:plan`, dtbArtifact.producer],
    {
      kind: 'boot-dtb',
      input: dtbArtifact.file,
      output: file,
      plan,
      edits: fixups,
      cmdlines,
      ...(i.dom0Ranges ? { dom0: i.dom0Ranges } : {}),
      ...domusOf(i),
    },
    [file],
    ['dtc', 'fdtput', 'fdtget'],
  );
  return { task, file };
}

/** The firmware's boot script (boot.scr, or uEnv.txt for U-Boot 2014), and uboot.env when asked. */
function scriptTask(i: BootInputs, xenFile: FileRef, plan: FileRef, bakedDtb: FileRef | undefined): TaskNode {
  const { b, num, kernel, initrd, dtb } = i;
  const { xen, dom0, boot } = b;
  const files: BootMediumFile[] = [
    { kind: 'xen', file: xenFile, name: baseName(xenFile.name) },
    { kind: 'kernel', file: kernel.file, name: dom0.kernel },
    ...(initrd && dom0.initrd ? [{ kind: 'initrd' as ModuleKind, file: initrd.file, name: dom0.initrd }] : []),
    ...(bakedDtb && dtb.artifact ? [{ kind: 'dtb' as ModuleKind, file: bakedDtb, name: dtb.artifact }] : []),
    // On the medium under their artifact names, as dom0's are (a guest may boot dom0's kernel file).
    ...i.domus.flatMap(({ domu, kernel: k, ramdisk, at }) => [
      { kind: 'domu-kernel' as ModuleKind, domain: domu.name, file: k.file, name: b.domus![at]!.kernel },
      ...(ramdisk ? [{ kind: 'domu-ramdisk' as ModuleKind, domain: domu.name, file: ramdisk.file, name: b.domus![at]!.ramdisk! }] : []),
    ]),
  ];
  const bootConfig: BootConfig = {
    firmware: boot.firmware,
    medium: boot.medium,
    command: boot.command,
    dtMode: i.dtbMode,
    ...(boot.setup ? { setup: boot.setup } : {}),
    ...(boot.env ? { env: { size: num(boot.env.size, ['boot', 'env', 'size']), redundant: boot.env.redundant ?? false } } : {}),
  };
  const scriptName = boot.firmware === 'u-boot-2014' ? 'uEnv.txt' : 'boot.scr';
  const output = i.deployFile(`boot/${scriptName}`);
  const cmd = i.deployFile('boot/boot.cmd');
  const env = boot.env ? i.deployFile('boot/uboot.env') : undefined;
  return i.node(
    'script',
    `write ${scriptName}${env ? ' and uboot.env' : ''}`,
    [`${BOOT}:plan`, ...(bakedDtb ? [`${BOOT}:dtb`] : [])],
    {
      kind: 'boot-script',
      board: b.board,
      boot: bootConfig,
      plan,
      files,
      cmdlines: { xen: xen.bootargs, dom0: dom0.bootargs },
      edits: i.dtbMode === 'runtime' ? i.fixups : [],
      ...(i.dtbMode === 'runtime' ? domusOf(i) : {}),
      ...(boot['fdt-addr'] !== undefined ? { fdtAddr: num(boot['fdt-addr'], ['boot', 'fdt-addr']) } : {}),
      cmd,
      output,
      ...(env ? { env } : {}),
    },
    [...(boot.firmware === 'u-boot' ? [cmd] : []), output, ...(env ? [env] : [])],
    scriptName === 'boot.scr' ? ['mkimage'] : [],
  );
}

/** The pre-flight check: the rule book against the plan, the baked DTB, dom0's kernel config and Xen's bytes. */
function checkTask(i: BootInputs, plan: FileRef, bakedDtb: FileRef | undefined): TaskNode {
  const { b, config, xenArtifact } = i;
  const report = i.deployFile('check.txt');
  return i.node(
    'check',
    'check the memory map, device tree and kernel config against what Xen needs',
    [`${BOOT}:plan`, ...(bakedDtb ? [`${BOOT}:dtb`] : []), ...(config ? [config.producer] : []), xenArtifact.producer],
    {
      kind: 'boot-check',
      plan,
      rules: checkCodeDigest(),
      xen: xenArtifact.file,
      ...(bakedDtb ? { dtb: bakedDtb } : {}),
      ...(config ? { config: config.file } : {}),
      cmdlines: { xen: b.xen.bootargs, dom0: b.dom0.bootargs },
      hyp: b.xen.hyp ?? 'unknown',
      ...(i.dom0Ranges ? { dom0: i.dom0Ranges } : {}),
      ...domusOf(i),
      lpae: b.dom0.lpae ?? false,
      report,
    },
    [report],
    ['dtc'],
  );
}

function unique(ids: string[]): string[] {
  return [...new Set(ids)];
}

function baseName(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}
