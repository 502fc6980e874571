import { parseDom0Mem } from '../boot/sizes.js';
import { checkCodeDigest } from '../check/code.js';
import { boardTask, deployFile as deployFileIn, exportedArtifacts, sizeReader } from './board-common.js';
import type { BootConfig, DtEdit, DtValue, ModuleKind, Range, ReservedRange } from '../model/boot.js';
import type { BootMediumFile, FileRef, PlannedModule, TaskNode } from '../model/graph.js';
import type { Board, DtFixupSpec } from '../model/schema.js';
import type { Loaded } from './load.js';
import { didYouMean } from './suggest.js';
import type { ErrorFn } from './context.js';
import type { PathKey } from './yaml-file.js';

/** The component name of the tasks a board's boot sections make. */
export const BOOT = 'boot';
const DEFAULT_DTB_GROW_ROOM = 64 * 1024;

/**
 * The board-level tasks that turn built artifacts into a bootable set of
 * files: Xen's uImage, the memory plan (and its picture), the device tree with
 * Xen's /chosen and the board's fixups, the U-Boot script or uEnv.txt, and
 * the pre-flight check. They exist when the board has the boot sections
 * (memory, xen, dom0, boot; dtb optional).
 */
export function bootTasks(board: Loaded<Board>, boardDir: string, tasks: readonly TaskNode[], error: ErrorFn): TaskNode[] {
  const b = board.value;
  const file = board.file;
  const sections = (['memory', 'xen', 'dom0', 'boot'] as const).filter((s) => b[s] !== undefined);
  if (sections.length === 0 && b.dtb === undefined) return [];
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
    return [];
  }
  const { memory, xen, dom0, boot } = b;
  const dtb = b.dtb ?? {};

  // Every artifact the components export, and the deploy task that makes it.
  const artifacts = exportedArtifacts(tasks);
  let ok = true;
  const artifact = (name: string, at: PathKey[]) => {
    const found = artifacts.get(name);
    if (!found) {
      ok = false;
      error(
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
  const deployFile = (name: string): FileRef => deployFileIn(boardDir, name);
  const node = (name: string, title: string, deps: string[], action: TaskNode['action'], outputs: FileRef[], tools: string[]): TaskNode =>
    boardTask(BOOT, boardDir, b.board, { name, title, deps, action, outputs, tools });

  const xenArtifact = artifact(xen.artifact, ['xen', 'artifact']);
  const kernel = artifact(dom0.kernel, ['dom0', 'kernel']);
  const initrd = dom0.initrd === undefined ? undefined : artifact(dom0.initrd, ['dom0', 'initrd']);
  const dtbMode = dtb.mode ?? 'bake';
  const dtbArtifact = dtb.artifact === undefined ? undefined : artifact(dtb.artifact, ['dtb', 'artifact']);
  const config = dom0.config === undefined ? undefined : artifact(dom0.config, ['dom0', 'config']);
  if (dtbMode === 'bake' && dtb.artifact === undefined) {
    ok = false;
    error(
      file,
      b.dtb ? ['dtb'] : ['boot'],
      'baking device-tree fixups needs dtb.artifact (the DTB a component exports)',
      'or set dtb.mode: runtime when the firmware provides the DTB',
      file.spanAt(b.dtb ? ['dtb'] : ['boot'], 'key'),
    );
  }
  if (xen.image === 'uimage' && xen.load === undefined) {
    ok = false;
    error(file, ['xen'], 'xen.image uimage needs xen.load: mkimage writes the load address into the uImage header', undefined, file.spanAt(['xen'], 'key'));
  }
  const fixups = (dtb.fixups ?? []).map((f, i) => fixupEdit(f, ['dtb', 'fixups', i], num));
  fixups.forEach((f, i) => {
    if (f.op !== 'set-phandle' || dtbMode !== 'runtime') return;
    ok = false;
    error(
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
    ok = false;
    error(
      file,
      ['dtb', 'fixups'],
      'prune-reserved-memory needs dom0.memory: the range Xen gives dom0 (1:1)',
      'e.g. dom0: { memory: [{ start: 0xa8000000, size: 128M }] }',
    );
  }
  const bootMemory = {
    ram: memory.ram.map((r, i) => ({ start: num(r.start, ['memory', 'ram', i, 'start']), size: num(r.size, ['memory', 'ram', i, 'size']) })),
    align: memory.align === undefined ? 2 * 1024 * 1024 : num(memory.align, ['memory', 'align']),
    reserved: (memory.reserved ?? []).map((r, i): ReservedRange => ({
      name: r.name,
      start: num(r.start, ['memory', 'reserved', i, 'start']),
      size: num(r.size, ['memory', 'reserved', i, 'size']),
      ...(r['loader-only'] ? { loaderOnly: true } : {}),
    })),
  };
  // A fixed address is checked now against RAM and the 32-bit bus, without waiting for the files' sizes.
  const inRam = (addr: number) => bootMemory.ram.some((r) => addr >= r.start && addr < r.start + r.size);
  const ramText = bootMemory.ram.map((r) => `0x${r.start.toString(16)}-0x${(r.start + r.size - 1).toString(16)}`).join(', ');
  const fixedAddresses: [PathKey[], number | string | undefined][] = [
    [['xen', 'load'], xen.load],
    [['dom0', 'load'], dom0.load],
    [['dom0', 'initrd-load'], dom0['initrd-load']],
  ];
  for (const [at, raw] of fixedAddresses) {
    if (raw === undefined || sizes.failed()) continue;
    const addr = num(raw, at);
    if (addr > 0xffffffff && boot.command !== 'booti') {
      ok = false;
      error(
        file,
        at,
        `${at.join('.')} 0x${addr.toString(16)} is beyond 32 bits: U-Boot on a 32-bit ARM (bootm, bootz) cannot load there`,
        `an address inside RAM (${ramText})`,
      );
    } else if (!inRam(addr)) {
      ok = false;
      error(
        file,
        at,
        `${at.join('.')} 0x${addr.toString(16)} is not in RAM (${ramText})`,
        'an address inside a RAM bank of memory.ram, or leave it out to have it planned',
      );
    }
  }
  if (!ok || sizes.failed() || !xenArtifact || !kernel) return [];

  const out: TaskNode[] = [];
  // Xen as the bootloader loads it.
  let xenFile = xenArtifact.file;
  let xenDeps = [xenArtifact.producer];
  if (xen.image === 'uimage') {
    const output = deployFile('boot/xen-uImage');
    out.push(
      node(
        'xen-image',
        `mkimage -T kernel -a ${String(xen.load)} ${xen.artifact}`,
        [xenArtifact.producer],
        { kind: 'uimage', input: xenArtifact.file, output, load: num(xen.load!, ['xen', 'load']), name: `Xen for ${b.board}` },
        [output],
        ['mkimage'],
      ),
    );
    xenFile = output;
    xenDeps = [`${BOOT}:xen-image`];
  }

  // A uImage is loaded anywhere and copied by bootm to its load address; a zImage runs where it is loaded.
  const xenFixed = xen.image === 'zimage' && xen.load !== undefined ? { fixed: num(xen.load, ['xen', 'load']) } : {};
  const modules: PlannedModule[] = [{ kind: 'xen', file: xenFile, key: xen.image === 'uimage' ? 'xen' : 'xen.load', ...xenFixed }];
  modules.push({ kind: 'kernel', file: kernel.file, key: 'dom0.load', ...(dom0.load !== undefined ? { fixed: num(dom0.load, ['dom0', 'load']) } : {}) });
  if (initrd)
    modules.push({
      kind: 'initrd',
      file: initrd.file,
      key: 'dom0.initrd-load',
      ...(dom0['initrd-load'] !== undefined ? { fixed: num(dom0['initrd-load'], ['dom0', 'initrd-load']) } : {}),
    });
  if (dtbMode === 'bake' && dtbArtifact) {
    const growRoom = dtb['grow-room'] === undefined ? DEFAULT_DTB_GROW_ROOM : num(dtb['grow-room'], ['dtb', 'grow-room']);
    modules.push({ kind: 'dtb', file: dtbArtifact.file, key: 'dtb', growRoom });
  }
  const planJson = deployFile('memory-map.json');
  const planSvg = deployFile('memory-map.svg');
  const dom0Mem = parseDom0Mem(xen.bootargs);
  const planDeps = [...xenDeps, kernel.producer, ...(initrd ? [initrd.producer] : []), ...(dtbMode === 'bake' && dtbArtifact ? [dtbArtifact.producer] : [])];
  out.push(
    node(
      'plan',
      'plan load addresses and draw the memory map',
      planDeps,
      {
        kind: 'boot-plan',
        memory: bootMemory,
        modules,
        xenRelocates: true,
        ...(xen.image === 'uimage' && xen.load !== undefined ? { bootmCopy: { load: num(xen.load, ['xen', 'load']) } } : {}),
        ...(dom0Ranges ? { dom0: dom0Ranges } : {}),
        ...(dom0Mem !== undefined ? { dom0Mem } : {}),
        json: planJson,
        svg: planSvg,
      },
      [planJson, planSvg],
      [],
    ),
  );

  const cmdlines = { xen: xen.bootargs, dom0: dom0.bootargs };
  const mediumFiles: BootMediumFile[] = [
    { kind: 'xen', file: xenFile, name: baseName(xenFile.name) },
    { kind: 'kernel', file: kernel.file, name: dom0.kernel },
    ...(initrd && dom0.initrd ? [{ kind: 'initrd' as ModuleKind, file: initrd.file, name: dom0.initrd }] : []),
  ];
  let bakedDtb: FileRef | undefined;
  if (dtbMode === 'bake' && dtbArtifact && dtb.artifact) {
    bakedDtb = deployFile(`boot/${dtb.artifact}`);
    out.push(
      node(
        'dtb',
        `add /chosen, modules and ${fixups.length} fixup${fixups.length === 1 ? '' : 's'} to ${dtb.artifact}`,
        [`${BOOT}:plan`, dtbArtifact.producer],
        { kind: 'boot-dtb', input: dtbArtifact.file, output: bakedDtb, plan: planJson, edits: fixups, cmdlines, ...(dom0Ranges ? { dom0: dom0Ranges } : {}) },
        [bakedDtb],
        ['dtc', 'fdtput', 'fdtget'],
      ),
    );
    mediumFiles.push({ kind: 'dtb', file: bakedDtb, name: dtb.artifact });
  }

  const bootConfig: BootConfig = {
    firmware: boot.firmware,
    medium: boot.medium,
    command: boot.command,
    dtMode: dtbMode,
    ...(boot.setup ? { setup: boot.setup } : {}),
    ...(boot.env ? { env: { size: num(boot.env.size, ['boot', 'env', 'size']), redundant: boot.env.redundant ?? false } } : {}),
  };
  const scriptName = boot.firmware === 'u-boot-2014' ? 'uEnv.txt' : 'boot.scr';
  const script = deployFile(`boot/${scriptName}`);
  const cmd = deployFile('boot/boot.cmd');
  const envImage = boot.env ? deployFile('boot/uboot.env') : undefined;
  out.push(
    node(
      'script',
      `write ${scriptName}${envImage ? ' and uboot.env' : ''}`,
      [`${BOOT}:plan`, ...(bakedDtb ? [`${BOOT}:dtb`] : [])],
      {
        kind: 'boot-script',
        board: b.board,
        boot: bootConfig,
        plan: planJson,
        files: mediumFiles,
        cmdlines,
        edits: dtbMode === 'runtime' ? fixups : [],
        ...(boot['fdt-addr'] !== undefined ? { fdtAddr: num(boot['fdt-addr'], ['boot', 'fdt-addr']) } : {}),
        cmd,
        output: script,
        ...(envImage ? { env: envImage } : {}),
      },
      [...(boot.firmware === 'u-boot' ? [cmd] : []), script, ...(envImage ? [envImage] : [])],
      scriptName === 'boot.scr' ? ['mkimage'] : [],
    ),
  );

  const report = deployFile('check.txt');
  out.push(
    node(
      'check',
      'check the memory map, device tree and kernel config against what Xen needs',
      [`${BOOT}:plan`, ...(bakedDtb ? [`${BOOT}:dtb`] : []), ...(config ? [config.producer] : []), ...(xenArtifact ? [xenArtifact.producer] : [])],
      {
        kind: 'boot-check',
        plan: planJson,
        rules: checkCodeDigest(),
        ...(xenArtifact ? { xen: xenArtifact.file } : {}),
        ...(bakedDtb ? { dtb: bakedDtb } : {}),
        ...(config ? { config: config.file } : {}),
        cmdlines,
        hyp: xen.hyp ?? 'unknown',
        ...(dom0Ranges ? { dom0: dom0Ranges } : {}),
        lpae: dom0.lpae ?? false,
        report,
      },
      [report],
      ['dtc'],
    ),
  );
  return out;
}

/** A board's fixup, as written in YAML, as an edit. */
function fixupEdit(f: DtFixupSpec, at: PathKey[], num: (v: number | string, at: PathKey[]) => number): DtEdit {
  if ('set' in f) {
    const s = f.set;
    if (s.phandle !== undefined) return { op: 'set-phandle', path: s.path, prop: s.prop, target: s.phandle };
    let value: DtValue;
    if (s.cells) value = { cells: s.cells.map((c, i) => num(c, [...at, 'set', 'cells', i])) };
    else if (s.u32 !== undefined) value = { cells: [num(s.u32, [...at, 'set', 'u32'])] };
    else if (s.strings) value = { strings: s.strings };
    else if (s.string !== undefined) value = { strings: [s.string] };
    else value = { empty: true };
    return { op: 'set', path: s.path, prop: s.prop, value };
  }
  if ('delete' in f)
    return f.delete.prop === undefined ? { op: 'delete-node', path: f.delete.path } : { op: 'delete-prop', path: f.delete.path, prop: f.delete.prop };
  if ('enable' in f) return { op: 'enable', path: f.enable };
  if ('disable' in f) return { op: 'disable', path: f.disable };
  if ('add-node' in f) return { op: 'add-node', path: f['add-node'] };
  return { op: 'prune-reserved-memory', keep: 'inside-dom0' };
}

function baseName(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}
