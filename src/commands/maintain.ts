import { rm } from 'node:fs/promises';
import { relative } from 'node:path';
import { probeCompiler, type CompileProbe } from '../host/compile-probe.js';
import { DEBIAN_PACKAGES, isCCompiler } from '../host/host-tools.js';
import type { BuildGraph } from '../model/graph.js';
import { StampStore } from '../engine/state.js';
import { boardLayout, layoutOf } from '../model/board-layout.js';
import { ToolVersions, which } from '../host/tools.js';
import { realLocation, staysInside } from '../util/inside.js';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { analysedBoard, settingsFor, withLock, type GlobalOptions } from './context.js';
import { expandSelectors } from './run.js';

/**
 * `xenbuild clean`: without tasks, the board's whole build directory; with
 * tasks, their stamps and outputs (and, for a fetch task, the source tree).
 */
export async function cleanCommand(selectors: string[], opts: GlobalOptions): Promise<number> {
  const { graph } = await analysedBoard(opts);
  const cwd = process.cwd();
  return withLock(graph, opts, 'xenbuild clean', async () => {
    if (!selectors.length) {
      // Everything but the lock we hold.
      const { readdir } = await import('node:fs/promises');
      const entries = await readdir(graph.boardDir).catch(() => [] as string[]);
      for (const e of entries) if (e !== '.lock') await rm(join(graph.boardDir, e), { recursive: true, force: true });
      process.stdout.write(`removed ${relative(cwd, graph.boardDir) || graph.boardDir}\n`);
      return 0;
    }
    const stamps = new StampStore(layoutOf(graph).state);
    for (const id of expandSelectors(graph, selectors)) {
      const task = graph.tasks.find((t) => t.id === id)!;
      await stamps.invalidate(id);
      for (const out of task.outputs) {
        if (!staysInside(out.path, graph.boardDir)) {
          process.stderr.write(`xenbuild: warning: ${out.name} resolves to ${realLocation(out.path)}, outside ${graph.boardDir}: left alone\n`);
          continue;
        }
        await rm(out.path, { force: true });
      }
      if (task.action.kind.startsWith('fetch-')) await rm(task.srcDir, { recursive: true, force: true });
      process.stdout.write(`cleaned ${id}${task.action.kind.startsWith('fetch-') ? ` (removed ${relative(cwd, task.srcDir)})` : ''}\n`);
    }
    return 0;
  });
}

/**
 * `xenbuild doctor`: is every host tool the board needs installed, which
 * version, and which Debian package gives it; each C compiler is proven by
 * compiling and linking a program for its target (host/compile-probe.ts).
 */
export async function doctorCommand(opts: GlobalOptions): Promise<number> {
  const settings = await settingsFor(opts);
  let tools: BuildGraph['tools'];
  if (settings.board) {
    const { graph } = await analysedBoard(opts);
    tools = graph.tools;
    if (!tools.some((t) => t.tool === 'git')) tools = [{ tool: 'git', package: 'git', usedBy: ['xenbuild'] }, ...tools];
  } else {
    tools = Object.entries(DEBIAN_PACKAGES).map(([tool, pkg]) => ({
      tool,
      package: pkg,
      usedBy: [],
      ...(isCCompiler(tool) ? { compiles: 'hosted' as const } : {}),
    }));
  }
  const versions = new ToolVersions(settings.board ? boardLayout(settings.workdir, settings.board).tools : join(tmpdir(), 'tools.json'));
  const width = Math.max(...tools.map((t) => t.tool.length));
  const missing: string[] = [];
  let broken = 0;
  for (const t of tools) {
    const path = which(t.tool);
    const version = path ? await versions.version(t.tool) : undefined;
    if (!path && t.package) missing.push(t.package);
    const status = path ? `ok       ${version}` : 'MISSING ';
    process.stdout.write(
      `${t.tool.padEnd(width)}  ${status}${t.package ? `  [${t.package}]` : ''}${!path && t.usedBy.length ? `  needed by ${t.usedBy.join(', ')}` : ''}\n`,
    );
    if (!path || !t.compiles) continue;
    const probe = await probeCompiler(t.tool, t.compiles);
    process.stdout.write(`${''.padEnd(width)}  ${describeProbe(probe)}\n`);
    if (!probe.ok) {
      broken++;
      if (probe.package) missing.push(probe.package);
    }
  }
  if (settings.board) await versions.save();
  if (missing.length || broken) {
    const problems = [
      missing.length ? `${new Set(missing).size} missing: apt-get install ${[...new Set(missing)].sort().join(' ')}` : '',
      broken ? `${broken} compiler${broken === 1 ? '' : 's'} cannot build for ${broken === 1 ? 'its' : 'their'} target` : '',
    ];
    process.stdout.write(`\n${problems.filter(Boolean).join('; ')}\n`);
    return 1;
  }
  process.stdout.write(`\nall ${tools.length} tools found${tools.some((t) => t.compiles) ? ', every compiler builds for its target' : ''}\n`);
  return 0;
}

/** "builds a hosted C program for arm-linux-gnueabihf (ELF ARM)", or what failed and the package to install. */
function describeProbe(p: CompileProbe): string {
  const what = `a ${p.kind} C program${p.target ? ` for ${p.target}` : ''}`;
  if (p.ok) return `compiles and links ${what} (ELF ${p.machine})`;
  return `CANNOT BUILD ${what}: ${p.error}${p.package ? `  [apt-get install ${p.package}]` : ''}`;
}
