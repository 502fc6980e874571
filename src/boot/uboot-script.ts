/**
 * The U-Boot side of a boot, as text: a hush script for boot.scr, and the
 * uEnv.txt that TI's 2014 U-Boot imports. Pure and deterministic: the same
 * board, files and command lines give the same bytes (no timestamps).
 *
 * What the text relies on in U-Boot's hush (checked in the v2014.07 and
 * v2023.01 sources):
 * - load/fatload set `${filesize}` in hex without 0x; `itest.l` reads both
 *   operands as hex, so `itest.l ${filesize} -eq 0x…` compares numbers.
 * - a command holding `${…}` is rebuilt as text after expansion and parsed
 *   again (quoted words wrapped in '…'), so the echo texts keep to characters
 *   that mean nothing to hush.
 * - `exit` ends a sourced boot.scr, but inside `run` it returns success, so
 *   the uEnv.txt steps fail with `false` and are chained with `&&`.
 * - an `if` whose condition fails and has no `else` returns that failure,
 *   so every `if` here has an `else`.
 * - TI's environment tests `test -n $uenvcmd` before running it, which
 *   re-parses the value with `;`, `&` and `|` as plain characters: harmless as
 *   long as uenvcmd holds no `#` or `'` and its double quotes pair up.
 */
import type { BootConfig, BootFile, ModuleKind, XenCommandLines } from '../model/boot.js';
import { envLine } from './uboot-env.js';

/** Where the firmware's device tree is in runtime mode: an address, or U-Boot's own variable. */
type FdtAddr = number | '${fdt_addr}';

export interface BootScriptOptions {
  /** The board's name, for the header. */
  board: string;
  /** dtMode 'runtime': the `fdt` commands (made by the device-tree module), one command each, placed as given. */
  fdtCommands?: readonly string[];
  /** dtMode 'runtime': where the firmware's DTB is (default `${fdt_addr}`). */
  fdtAddr?: FdtAddr;
  /** dtMode 'bake': the baked DTB's file name on the medium, when it differs from the plan's dtb file. */
  dtbFile?: string;
}

type LoadKind = Exclude<ModuleKind, 'script' | 'domu-kernel' | 'domu-ramdisk'>;

/** The loads in the order they run; a 'script' file (boot.scr itself) is loaded by U-Boot, not by us. */
const LOAD_ORDER: readonly LoadKind[] = ['xen', 'dtb', 'kernel', 'initrd'];
const LABEL: Record<LoadKind, string> = { xen: 'xen', dtb: 'device tree', kernel: 'dom0 kernel', initrd: 'dom0 initrd' };
/** The uEnv.txt variable of each load. */
const VARIABLE: Record<LoadKind, string> = { xen: 'xen_load', dtb: 'dtb_load', kernel: 'dom0_load', initrd: 'initrd_load' };

interface LoadStep {
  variable: string;
  announce: string;
  /** `load … && itest.l ${filesize} -eq 0x…`: true when the file loaded with its planned size. */
  condition: string;
  loaded: string;
  failed: string;
}

interface BootSteps {
  /** The header comment, without "# ". */
  about: string[];
  loads: LoadStep[];
  /** The board's setup commands, announced (none when the board has none). */
  setup: string[];
  /** Runtime mode: an announcement and the fdt commands (none when there are no commands). */
  fdt: string[];
  boot: string[];
}

/**
 * The boot.scr source (boot.cmd): load each file (`load`, or `fatload` for
 * firmware 'u-boot-2014') and check its size, edit the firmware's DT
 * (runtime mode), boot. A failed step says so and `exit`s the script.
 */
export function bootScript(cfg: BootConfig, files: readonly BootFile[], cmdlines: XenCommandLines, opts: BootScriptOptions): string {
  const steps = bootSteps(cfg, files, cmdlines, opts, 'boot script');
  const lines = [...steps.about.map((l) => `# ${l}`)];
  if (steps.setup.length > 0) lines.push('', ...steps.setup);
  for (const s of steps.loads) {
    lines.push('', s.announce, `if ${s.condition}; then`, `\t${s.loaded}`, 'else', `\t${s.failed}`, '\texit', 'fi');
  }
  if (steps.fdt.length > 0) lines.push('', ...steps.fdt);
  lines.push('', ...steps.boot, echo(`${cfg.command} returned, Xen did not start`));
  return lines.join('\n') + '\n';
}

/**
 * uEnv.txt for TI's 2014 U-Boot, which imports it from the boot partition
 * (`env import -t`) and runs `uenvcmd`. Each step is a variable on one line;
 * `uenvcmd` runs them in order and stops at the first that fails. Values are
 * stored as written and parsed by hush only when run, so `${filesize}` stays
 * literal here; backslashes are doubled because the import unescapes them.
 */
export function uEnvTxt(cfg: BootConfig, files: readonly BootFile[], cmdlines: XenCommandLines, opts: BootScriptOptions): string {
  const steps = bootSteps(cfg, files, cmdlines, opts, 'uEnv.txt');
  const lines = steps.about.map((l) => `# ${l}`);
  const run: string[] = [];
  if (steps.setup.length > 0) {
    lines.push(envLine('board_setup', steps.setup.join('; ')));
    run.push('board_setup');
  }
  for (const s of steps.loads) {
    lines.push(envLine(s.variable, `${s.announce}; if ${s.condition}; then ${s.loaded}; else ${s.failed}; false; fi`));
    run.push(s.variable);
  }
  if (steps.fdt.length > 0) {
    lines.push(envLine('dt_fixup', steps.fdt.join('; ')));
    run.push('dt_fixup');
  }
  lines.push(envLine('xen_boot', steps.boot.join('; ')));
  run.push('xen_boot');
  const chain = run.map((v) => `run ${v}`).join(' && ');
  lines.push(envLine('uenvcmd', `${chain}; ${echo('Xen did not start, U-Boot goes on with its own boot')}`));
  return lines.join('\n') + '\n';
}

function bootSteps(cfg: BootConfig, files: readonly BootFile[], cmdlines: XenCommandLines, opts: BootScriptOptions, what: string): BootSteps {
  if (!/^[a-z][a-z0-9_]* [0-9a-f]+(:[0-9a-f]+)?$/i.test(cfg.medium)) {
    throw new Error(`boot medium ${JSON.stringify(cfg.medium)} is not a U-Boot interface and device[:partition] such as "mmc 0:1"`);
  }
  oneLine('board name', opts.board);
  oneLine('Xen command line', cmdlines.xen);
  oneLine('dom0 command line', cmdlines.dom0);
  const setup = cfg.setup ?? [];
  for (const c of setup) oneLine('setup command', c);
  const byKind = new Map<LoadKind, BootFile>();
  const domuFiles: BootFile[] = [];
  for (const f of files) {
    if (f.kind === 'script') continue;
    if (f.kind === 'domu-kernel' || f.kind === 'domu-ramdisk') {
      domuFiles.push(f);
      continue;
    }
    if (byKind.has(f.kind)) throw new Error(`two ${LABEL[f.kind]} files (${byKind.get(f.kind)!.file}, ${f.file}): one of each kind is loaded`);
    byKind.set(f.kind, f);
  }
  const xen = byKind.get('xen');
  if (!xen) throw new Error('no xen file to load');

  let dtbAt: string;
  let dtAbout: string;
  const fdt: string[] = [];
  const fdtCommands = opts.fdtCommands ?? [];
  if (cfg.dtMode === 'bake') {
    if (fdtCommands.length > 0) throw new Error('fdt commands given in dtMode bake, where the fixups are baked into the DTB');
    const dtb = byKind.get('dtb');
    if (!dtb) throw new Error('dtMode bake needs the baked dtb file in the plan');
    if (opts.dtbFile !== undefined) byKind.set('dtb', { ...dtb, file: opts.dtbFile });
    dtbAt = address(dtb.start, 'device tree');
    dtAbout = `Device tree: ${byKind.get('dtb')!.file}, baked by xenbuild with the command lines below.`;
  } else {
    const dtb = byKind.get('dtb');
    if (dtb) throw new Error(`dtMode runtime boots with the firmware's device tree, but the plan also loads ${dtb.file}`);
    dtbAt = opts.fdtAddr === undefined || opts.fdtAddr === '${fdt_addr}' ? '${fdt_addr}' : address(opts.fdtAddr, 'fdtAddr');
    dtAbout = `Device tree: the firmware's, at ${dtbAt}, ${fdtCommands.length > 0 ? 'edited by the fdt commands below' : 'used as it is'}.`;
    for (const c of fdtCommands) oneLine('fdt command', c);
    if (fdtCommands.length > 0) fdt.push(echo(`editing the device tree at ${dtbAt}`), ...fdtCommands);
  }

  const domains = [...new Set(domuFiles.map((f) => f.domain ?? ''))];
  const loads = [
    ...LOAD_ORDER.flatMap((kind) => {
      const f = byKind.get(kind);
      return f ? [loadStep(cfg, { label: LABEL[kind], variable: VARIABLE[kind] }, f)] : [];
    }),
    // A dom0less domU's files, after dom0's: "domU0 kernel", uEnv.txt's domu0_kernel_load.
    ...domuFiles.map((f) => {
      const part = f.kind === 'domu-kernel' ? 'kernel' : 'ramdisk';
      if (f.domain === undefined || !/^[A-Za-z0-9_-]+$/.test(f.domain)) throw new Error(`domU file ${f.file} has no plain domU name (${String(f.domain)})`);
      return loadStep(cfg, { label: `${f.domain} ${part}`, variable: `domu${domains.indexOf(f.domain)}_${part}_load` }, f);
    }),
  ];
  const bootLine = `${cfg.command} ${address(xen.start, 'xen')} - ${dtbAt}`;
  const loader = what === 'uEnv.txt' ? 'U-Boot imports it with env import -t and runs uenvcmd' : 'U-Boot runs it with source';
  return {
    about: [
      `xenbuild ${what} for board ${opts.board}: generated, do not edit; change the board file and rebuild.`,
      `${loader}; it loads the files from ${cfg.medium} and starts Xen with ${cfg.command}.`,
      dtAbout,
      `Xen command line:  ${cmdlines.xen}`,
      `dom0 command line: ${cmdlines.dom0}`,
    ],
    loads,
    setup: setup.length > 0 ? [echo(`board setup: ${setup.length} command${setup.length === 1 ? '' : 's'} from the board file`), ...setup] : [],
    fdt,
    // U-Boot would copy the device tree (and an initrd) below bootm_size before booting, to memory the plan
    // does not know: all ones keeps them where the plan put them.
    boot: ['setenv fdt_high 0xffffffff', 'setenv initrd_high 0xffffffff', echo(`starting xen: ${bootLine}`), bootLine],
  };
}

function loadStep(cfg: BootConfig, what: { label: string; variable: string }, f: BootFile): LoadStep {
  const label = what.label;
  if (!/^[A-Za-z0-9._+][A-Za-z0-9._+\/-]*$/.test(f.file)) {
    throw new Error(`file name ${JSON.stringify(f.file)} (${label}) has characters a U-Boot command line cannot carry`);
  }
  if (!Number.isSafeInteger(f.size) || f.size <= 0) throw new Error(`${label} ${f.file} has size ${f.size}`);
  const at = address(f.start, label);
  const size = `0x${f.size.toString(16)}`;
  const command = cfg.firmware === 'u-boot-2014' ? 'fatload' : 'load';
  return {
    variable: what.variable,
    announce: echo(`loading ${label}: ${f.file} from ${cfg.medium} to ${at}, ${size} bytes`),
    condition: `${command} ${cfg.medium} ${at} ${f.file} && itest.l \${filesize} -eq ${size}`,
    loaded: echo(`${label} loaded`),
    failed: echo(`error: ${f.file} did not load or is not ${size} bytes, filesize=0x\${filesize}, stopping`),
  };
}

/**
 * `echo "xenbuild: …"`. Hush re-parses a command holding `${…}` after
 * expanding it (and U-Boot before 2014.04 did so without re-quoting), so the
 * text keeps to characters that mean nothing to hush; anything else is a bug here.
 */
function echo(text: string): string {
  if (!/^[A-Za-z0-9 :,.=\/_+@-]*$/.test(text.replace(/\$\{[a-z_]+\}/g, ''))) {
    throw new Error(`Internal error: echo text ${JSON.stringify(text)} is not safe for hush`);
  }
  return `echo "xenbuild: ${text}"`;
}

function address(value: number, what: string): string {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${what} address ${value} is not a physical address`);
  return `0x${value.toString(16)}`;
}

function oneLine(what: string, text: string): void {
  if (/[\r\n\0]/.test(text)) throw new Error(`${what} ${JSON.stringify(text)} must be one line`);
}
