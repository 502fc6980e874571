import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { planMemory } from '../boot/memmap.js';
import { renderMemoryMapSvg } from '../boot/memmap-render.js';
import { renderMemoryMapTable } from '../boot/memmap-table.js';
import { makeLegacyKernelImage, makeScriptImage } from '../boot/mkimage.js';
import {
  moduleId,
  type BootFile,
  type MemoryPlan,
  type ModuleRef,
  type ModuleRequest,
  type PlanError,
  type Placement,
  type ReservedRange,
} from '../model/boot.js';
import { memoryFootprint } from '../boot/sizes.js';
import { hex } from '../util/units.js';
import { envText, makeEnvImage } from '../boot/uboot-env.js';
import { bootScript, uEnvTxt } from '../boot/uboot-script.js';
import { checkBoard, formatFindings, type Finding } from '../check/rules.js';
import { romHypCalls } from '../check/xen-binary.js';
import { bakeEdits, chosenOps, resolveEdits, ubootFdtCommands } from '../dt/edits.js';
import { readDtb } from '../dt/read.js';
import { TaskFailure } from '../host/failure.js';
import type { SpecOf } from '../model/graph.js';
import { writeFileAtomic } from '../util/fs.js';
import type { ActionContext } from '../engine/action.js';

/** What boot:plan writes to memory-map.json, and the tasks after it read. */
export interface PlanFile {
  plan: MemoryPlan;
  errors: PlanError[];
  /** Each module's file size, without grow room, by moduleId ("kernel", "domU0 kernel"). */
  sizes: Record<string, number>;
}

/** The size of a built file, or a failure naming it. */
function sizeOf(path: string, name: string): number {
  try {
    return statSync(path).size;
  } catch {
    throw new TaskFailure({ reason: 'bad-artifact', path: name, message: 'does not exist' });
  }
}

/** mkimage -T kernel: Xen as a legacy uImage that bootm copies to its load address. */
export async function runUimage(a: SpecOf<'uimage'>, ctx: ActionContext): Promise<void> {
  await mkdir(dirname(a.output.path), { recursive: true });
  await makeLegacyKernelImage(
    { input: a.input.path, output: a.output.path, load: a.load, entry: a.load, name: a.name, arch: 'arm' },
    { signal: ctx.signal, onLine: ctx.log },
  );
  ctx.log(`${a.output.name}: uImage "${a.name}", load and entry ${'0x' + a.load.toString(16)}`);
}

/** The first bytes of a file, where image headers are. */
function readHead(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const head = new Uint8Array(0x70);
    return head.subarray(0, readSync(fd, head, 0, head.length, 0));
  } finally {
    closeSync(fd);
  }
}

/** Plans load addresses from the real sizes (in memory, where an image says more than its file), draws the map, and fails on any conflict. */
export async function runPlan(a: SpecOf<'boot-plan'>, ctx: ActionContext): Promise<void> {
  const sizes: PlanFile['sizes'] = {};
  let xenFootprint: ReturnType<typeof memoryFootprint> | undefined;
  const requests: ModuleRequest[] = a.modules.map((m) => {
    const size = sizeOf(m.file.path, m.file.name);
    sizes[moduleId(m)] = size;
    // Xen and dom0's kernel run where they are loaded: what they take there is their zImage's in-memory size (BSS
    // included). A domU's kernel is copied into the domU's memory by Xen, so its file is all it takes here.
    const footprint = m.kind === 'xen' || m.kind === 'kernel' ? memoryFootprint(readHead(m.file.path), size) : { inPlace: size };
    if (m.kind === 'xen') xenFootprint = footprint;
    if (footprint.inPlace > size) ctx.log(`${m.file.name}: ${hex(size)} bytes in the file, ${hex(footprint.inPlace)} in memory (its zImage header)`);
    return {
      kind: m.kind,
      ...(m.domain !== undefined ? { domain: m.domain } : {}),
      size: footprint.inPlace,
      key: m.key,
      ...(m.fixed !== undefined ? { fixed: m.fixed } : {}),
      ...(m.growRoom !== undefined ? { growRoom: m.growRoom } : {}),
    };
  });
  const reserved: ReservedRange[] = [...a.memory.reserved];
  // bootm copies a uImage's payload (the file less its 64-byte header) to the load address in its header.
  if (a.bootmCopy) reserved.push({ name: 'xen after bootm', start: a.bootmCopy.load, size: Math.max(1, xenFootprint?.payload ?? (sizes.xen ?? 64) - 64) });
  const result = planMemory({ ...a.memory, reserved }, requests, {
    xenRelocates: a.xenRelocates,
    ...(a.dom0Mem !== undefined ? { dom0Mem: a.dom0Mem } : {}),
    ...(a.dom0 ? { dom0: a.dom0 } : {}),
  });
  const plan = result.ok ? result.plan : result.partial;
  const errors = result.ok ? [] : result.errors;
  const file: PlanFile = { plan, errors, sizes };
  await writeFileAtomic(a.json.path, JSON.stringify(file, null, 1) + '\n');
  await writeFileAtomic(a.svg.path, renderMemoryMapSvg(plan, errors));
  for (const line of renderMemoryMapTable(plan).split('\n')) ctx.log(line);
  if (errors.length) throw new TaskFailure({ reason: 'memory-plan', errors: errors.map((e) => e.message) });
}

export function readPlan(path: string): PlanFile {
  return JSON.parse(readFileSync(path, 'utf8')) as PlanFile;
}

/** The placement of a module with its file size (a placement's own size includes its grow room). */
function fileAt(planFile: PlanFile, ref: ModuleRef): { start: number; size: number } {
  const p = planFile.plan.placements.find((x) => x.kind === ref.kind && x.domain === ref.domain);
  if (!p) throw new Error(`Internal error: the memory plan has no ${moduleId(ref)}`);
  return { start: p.start, size: planFile.sizes[moduleId(ref)] ?? p.size };
}

/** Placements with file sizes: what /chosen's module nodes must say. */
function modulePlacements(planFile: PlanFile): Placement[] {
  return planFile.plan.placements.map((p) => ({ ...p, size: planFile.sizes[moduleId(p)] ?? p.size }));
}

/** Bakes /chosen, the boot modules and the board's fixups into a copy of the DTB. */
export async function runDtb(a: SpecOf<'boot-dtb'>, ctx: ActionContext): Promise<void> {
  const planFile = readPlan(a.plan.path);
  let tree;
  try {
    tree = await readDtb(a.input.path, { signal: ctx.signal });
  } catch (err) {
    if (err instanceof TaskFailure) throw err;
    throw new TaskFailure({ reason: 'bad-artifact', path: a.input.name, message: (err as Error).message });
  }
  const fixups = resolveEdits(a.edits, { tree, ...(a.dom0 ? { dom0: a.dom0 } : {}) });
  if (fixups.problems.length) throw new TaskFailure({ reason: 'bad-artifact', path: a.input.name, message: fixups.problems.join('; ') });
  for (const p of fixups.pruned) ctx.log(`pruned ${JSON.stringify(p)}`);
  const ops = [...fixups.ops, ...chosenOps({ placements: modulePlacements(planFile), cmdlines: a.cmdlines, tree, ...(a.domus ? { domus: a.domus } : {}) })];
  await mkdir(dirname(a.output.path), { recursive: true });
  await bakeEdits(a.input.path, a.output.path, ops, { signal: ctx.signal, onLine: ctx.log });
  ctx.log(`${a.output.name}: ${ops.length} edits`);
}

/** Writes boot.cmd → boot.scr (or uEnv.txt for 2014-era TI U-Boot), and the binary environment when declared. */
export async function runScript(a: SpecOf<'boot-script'>, ctx: ActionContext): Promise<void> {
  const planFile = readPlan(a.plan.path);
  const files: BootFile[] = a.files.map((f) => ({
    kind: f.kind,
    ...(f.domain !== undefined ? { domain: f.domain } : {}),
    file: f.name,
    ...fileAt(planFile, f),
  }));
  const opts = {
    board: a.board,
    ...(a.boot.dtMode === 'runtime'
      ? {
          fdtCommands: ubootFdtCommands([
            ...resolveEdits(a.edits).ops,
            ...chosenOps({ placements: modulePlacements(planFile), cmdlines: a.cmdlines, ...(a.domus ? { domus: a.domus } : {}) }),
          ]),
          ...(a.fdtAddr !== undefined ? { fdtAddr: a.fdtAddr } : {}),
        }
      : {}),
  };
  let text: string;
  try {
    text = a.boot.firmware === 'u-boot-2014' ? uEnvTxt(a.boot, files, a.cmdlines, opts) : bootScript(a.boot, files, a.cmdlines, opts);
  } catch (err) {
    throw new TaskFailure({ reason: 'bad-artifact', path: a.output.name, message: (err as Error).message });
  }
  if (a.boot.firmware === 'u-boot-2014') {
    await writeFileAtomic(a.output.path, text);
  } else {
    await writeFileAtomic(a.cmd.path, text);
    await makeScriptImage({ input: a.cmd.path, output: a.output.path, name: `xenbuild ${a.board}` }, { signal: ctx.signal, onLine: ctx.log });
  }
  for (const line of text.split('\n')) ctx.log(line);
  if (a.env && a.boot.env) {
    const vars =
      a.boot.firmware === 'u-boot-2014'
        ? Object.fromEntries(
            text
              .split('\n')
              .filter((l) => /^[A-Za-z_][\w]*=/.test(l))
              .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
          )
        : { bootcmd: `load ${a.boot.medium} \${scriptaddr} boot.scr && source \${scriptaddr}` };
    await makeEnvImage({ vars, size: a.boot.env.size, redundant: a.boot.env.redundant, output: a.env.path }, { signal: ctx.signal, onLine: ctx.log });
    ctx.log(`${a.env.name}: ${Object.keys(vars).length} variables\n${envText(vars)}`);
  }
}

/** The pre-flight check: the seed's failure modes, on the built artifacts. */
export async function runCheck(a: SpecOf<'boot-check'>, ctx: ActionContext): Promise<void> {
  const { report, findings } = await evaluateCheck(a, ctx.signal);
  await writeFileAtomic(a.report.path, report);
  for (const line of report.trimEnd().split('\n')) ctx.log(line);
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.length) {
    throw new TaskFailure({
      reason: 'check-failed',
      errors: errors.length,
      warnings: findings.length - errors.length,
      findings: errors.map((f) => `${f.id}  ${f.message}`),
    });
  }
}

/**
 * Runs the check rules on whatever of the check's inputs exist (the plan, the
 * baked DTB, the kernel .config) and says what could not be checked. The
 * check task needs them all; `xenbuild check` also reports a partial build.
 */
export async function evaluateCheck(a: SpecOf<'boot-check'>, signal?: AbortSignal): Promise<{ report: string; findings: Finding[] }> {
  const exists = (p: string) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  const planFile = exists(a.plan.path) ? readPlan(a.plan.path) : undefined;
  const dtb = a.dtb && exists(a.dtb.path) ? await readDtb(a.dtb.path, signal ? { signal } : {}) : undefined;
  const kernelConfig = a.config && exists(a.config.path) ? await readFile(a.config.path, 'utf8') : undefined;
  const xenRomHypCalls = a.xen && exists(a.xen.path) ? romHypCalls(await readFile(a.xen.path)) : undefined;
  const findings = checkBoard({
    ...(dtb ? { dtb } : {}),
    xenBootargs: a.cmdlines.xen,
    dom0Bootargs: a.cmdlines.dom0,
    ...(a.dom0 ? { dom0Range: a.dom0 } : {}),
    ...(a.domus ? { domus: a.domus } : {}),
    ...(planFile ? { plan: planFile.plan, planErrors: planFile.errors } : {}),
    hyp: a.hyp,
    ...(kernelConfig !== undefined ? { kernelConfig } : {}),
    ...(xenRomHypCalls ? { xenRomHypCalls } : {}),
    needsLpae: a.lpae,
  });
  const notChecked = [
    ...(planFile ? [] : [`memory map: ${a.plan.name} was not built`]),
    ...(!a.dtb ? ['device tree: the firmware provides it at boot'] : dtb ? [] : [`device tree: ${a.dtb.name} was not built`]),
    ...(a.xen && xenRomHypCalls === undefined ? [`Xen binary: ${a.xen.name} was not built`] : []),
    ...(!a.config
      ? ['kernel config: the board names no dom0.config artifact']
      : kernelConfig !== undefined
        ? []
        : [`kernel config: ${a.config.name} was not built`]),
  ];
  const evidence = xenRomHypCalls?.length
    ? [
        `${a.xen!.name}: calls the ROM's HYP-entry service 0x102 (secondary CPUs, OMAP5/DRA7) at offset ${xenRomHypCalls.map((o) => `0x${o.toString(16)}`).join(', ')}`,
      ]
    : [];
  const lines = [formatFindings(findings).trimEnd(), ...evidence.map((e) => `seen: ${e}`), ...notChecked.map((n) => `not checked: ${n}`)];
  if (planFile) lines.push('', renderMemoryMapTable(planFile.plan).trimEnd());
  return { report: lines.join('\n') + '\n', findings };
}
