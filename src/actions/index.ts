import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { TaskFailure } from '../engine/failure.js';
import { Jobserver } from '../engine/jobserver.js';
import { JOBS_PLACEHOLDER } from '../analysis/vars.js';
import type { ActionSpec, FileRef, TaskNode } from '../model/graph.js';
import { unreachable } from '../util/unreachable.js';
import type { ActionContext } from './context.js';
import { describeDebianBinary, describeDebianSource } from './debian.js';
import { describeFetchGit, fetchGit, GIT_IDENTITY, readHead, runGit } from './git.js';
import { replaceTree } from '../util/fs.js';

/** The ref every fetched tree carries for its pristine source, so patch tasks know their base. */
export const BASE_REF = 'refs/xenbuild/base';


/** The jobs a task was given: how many, and for make the jobserver's pipe. */
export interface JobGrant {
  jobs: number;
  /** The jobserver pipe, passed to make as fd 3. */
  jobserverFd?: number;
}

export interface ActionResult {
  /** For source tasks: the commit the tree is at when the task is done. */
  head?: string;
}

/**
 * Copies an exported artifact into deploy/: a file, or a directory (a root
 * file system tree) with `cp -a` (modes, links and special files kept). Both
 * are made next to their final name and renamed into place when complete.
 */
async function deployArtifact(from: FileRef, to: FileRef, ctx: ActionContext): Promise<void> {
  await mkdir(dirname(to.path), { recursive: true });
  const tmp = join(dirname(to.path), `.${relative(dirname(to.path), to.path)}.partial`);
  const kind = await stat(from.path).then(
    (s) => (s.isDirectory() ? 'dir' : 'file'),
    () => {
      throw new TaskFailure({ reason: 'bad-artifact', path: from.name, message: `does not exist, so ${to.name} cannot be made: check the recipe's exports` });
    },
  );
  for (const leftover of [tmp, `${tmp}.old`]) await rm(leftover, { recursive: true, force: true }); // of a run that was killed
  try {
    if (kind === 'file') {
      await copyFile(from.path, tmp);
      await rename(tmp, to.path);
    } else {
      await ctx.exec(['cp', '-a', '--', from.path, tmp], { quiet: true });
      await replaceTree(tmp, to.path, `${tmp}.old`);
      await rm(`${tmp}.old`, { recursive: true, force: true });
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  ctx.log(`${from.name}${kind === 'dir' ? '/' : ''} → ${to.name}${kind === 'dir' ? '/' : ''}`);
}

/** Runs one task's action. Expected failures are thrown as TaskFailure. */
export async function runAction(task: TaskNode, ctx: ActionContext, grant: JobGrant): Promise<ActionResult> {
  const jobs = grant.jobs;
  const action = task.action;
  switch (action.kind) {
    case 'fetch-git': {
      const { commit } = await fetchGit(ctx, action.source);
      await runGit(ctx, ['update-ref', BASE_REF, commit], { cwd: ctx.srcDir });
      return { head: commit };
    }
    case 'fetch-tarball': {
      const { fetchTarball } = await import('./tarball.js');
      await fetchTarball(ctx, action.source);
      return { head: await commitTree(ctx, `${action.source.tarball} (sha256 ${action.source.sha256})`) };
    }
    case 'fetch-debian-source': {
      const { fetchDebianSource } = await import('./debian.js');
      const r = await fetchDebianSource(ctx, action.source);
      return { head: await commitTree(ctx, `Debian source ${action.source['debian-source']} ${r.version} (.dsc sha256 ${r.sha256})`) };
    }
    case 'fetch-debian-binary': {
      const { fetchDebianBinary } = await import('./debian.js');
      const r = await fetchDebianBinary(ctx, action.source);
      return { head: await commitTree(ctx, `Debian package ${action.source['debian-binary']}:${r.arch} ${r.version} (sha256 ${r.sha256})`) };
    }
    case 'patch': {
      const base = readBaseRef(ctx.srcDir);
      if (!base) throw new TaskFailure({ reason: 'commit-missing', url: ctx.srcDir, commit: BASE_REF, from: ctx.srcDir });
      const { applyPatchSeries } = await import('./patch.js');
      const { commit } = await applyPatchSeries(ctx, base, action.patches);
      return { head: commit };
    }
    case 'run': {
      // The working directory and the directories of declared outputs exist before the command runs.
      for (const dir of new Set([task.cwd, ...task.outputs.map((o) => dirname(o.path))])) await mkdir(dir, { recursive: true });
      const argv = action.argv.map((a) => a.replaceAll(JOBS_PLACEHOLDER, String(jobs)));
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(task.env)) env[k] = v.replaceAll(JOBS_PLACEHOLDER, String(jobs));
      if (action.jobs === 'make' && grant.jobserverFd !== undefined) {
        env.MAKEFLAGS = `${env.MAKEFLAGS ?? ''}${Jobserver.makeflags()}`;
        await ctx.exec(argv, { cwd: task.cwd, env, extraFds: [grant.jobserverFd] });
      } else {
        await ctx.exec(argv, { cwd: task.cwd, env });
      }
      return {};
    }
    case 'artifact':
      for (const file of action.files) await deployArtifact(file.from, file.to, ctx);
      return {};
    case 'busybox-root':
      await (await import('./busybox-root.js')).runBusyboxRoot(action, ctx);
      return {};
    case 'image':
      await (await import('./image.js')).runImage(action, ctx);
      return {};
    case 'release':
      await (await import('./image.js')).runRelease(action, ctx);
      return {};
    case 'uimage':
      await (await import('./boot.js')).runUimage(action, ctx);
      return {};
    case 'boot-plan':
      await (await import('./boot.js')).runPlan(action, ctx);
      return {};
    case 'boot-dtb':
      await (await import('./boot.js')).runDtb(action, ctx);
      return {};
    case 'boot-script':
      await (await import('./boot.js')).runScript(action, ctx);
      return {};
    case 'boot-check':
      await (await import('./boot.js')).runCheck(action, ctx);
      return {};
    default:
      return unreachable(action);
  }
}

/**
 * Makes a freshly unpacked tree (tarball, Debian package) a one-commit git
 * repository tagged as the pristine base, so patches apply the same way as
 * on git sources and local edits show up in `git status`.
 */
async function commitTree(ctx: ActionContext, message: string): Promise<string> {
  const env = GIT_IDENTITY;
  await runGit(ctx, ['init', '--quiet'], { cwd: ctx.srcDir, env });
  await runGit(ctx, ['add', '--all', '--force', '.'], { cwd: ctx.srcDir, env });
  await runGit(ctx, ['commit', '--quiet', '--no-verify', '--no-gpg-sign', '--allow-empty', '-m', message], { cwd: ctx.srcDir, env });
  const head = readHead(ctx.srcDir);
  if (!head) throw new Error(`Internal error: no HEAD in ${ctx.srcDir} after committing the unpacked source`);
  await runGit(ctx, ['update-ref', BASE_REF, head], { cwd: ctx.srcDir });
  return head;
}

/** The commands a task would run, resolved, for --dry-run. */
export function describeAction(task: TaskNode, ctx: Pick<ActionContext, 'cacheDir' | 'srcDir' | 'mirrorDirs'>, jobs: number): string[] {
  const action: ActionSpec = task.action;
  const q = (s: string) => (/^[\w@%+=:,./^*-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  switch (action.kind) {
    case 'fetch-git':
      return [...describeFetchGit(action.source, ctx), `git -C ${q(ctx.srcDir)} update-ref ${BASE_REF} ${action.source.commit}`];
    case 'fetch-tarball':
      return [
        `fetch ${action.source.tarball} (sha256 ${action.source.sha256}) and ${action.source.unpack === false ? 'keep it whole in' : 'extract it into'} ${ctx.srcDir}`,
        `git -C ${q(ctx.srcDir)} init && git add --all && git commit  # the pristine tree, tagged ${BASE_REF}`,
      ];
    case 'fetch-debian-source':
      return [...describeDebianSource(action.source, ctx), `git -C ${q(ctx.srcDir)} init && git add --all && git commit  # the pristine tree, tagged ${BASE_REF}`];
    case 'fetch-debian-binary':
      return [...describeDebianBinary(action.source, ctx), `git -C ${q(ctx.srcDir)} init && git add --all && git commit  # the pristine tree, tagged ${BASE_REF}`];
    case 'patch':
      return [
        `git -C ${q(ctx.srcDir)} checkout -f ${BASE_REF}`,
        ...action.patches.map((p) => `git -C ${q(ctx.srcDir)} apply --cached ${q(p.path)} && git commit-tree …   # ${p.name}`),
      ];
    case 'run': {
      const env = Object.entries(task.env).map(([k, v]) => `${k}=${q(v.replaceAll(JOBS_PLACEHOLDER, String(jobs)))} `).join('');
      const makeflags = action.jobs === 'make' ? `MAKEFLAGS=${q(Jobserver.makeflags())} ` : '';
      return [`(cd ${q(task.cwd)} && ${makeflags}${env}${action.argv.map((a) => q(a.replaceAll(JOBS_PLACEHOLDER, String(jobs)))).join(' ')})`];
    }
    case 'artifact':
      return action.files.map((f) => `cp -a ${q(f.from.path)} ${q(f.to.path)}`);
    case 'busybox-root':
      return [`assemble busybox${action.modules ? ` and ${action.modules.load.join(', ')} (with what they depend on)` : ''} + ${action.init.name} → ${action.output.name} (${action.format})`];
    case 'image':
      return [`genimage --config <generated> → ${action.output.name} (${action.layout.partitions.map((p) => p.name).join(', ')})`];
    case 'release':
      return [`bmaptool create ${q(action.image.path)}; ${action.compress} copy; SHA256SUMS; manifest.json`];
    case 'uimage':
      return [`mkimage -A arm -O linux -T kernel -C none -a 0x${action.load.toString(16)} -e 0x${action.load.toString(16)} -n ${q(action.name)} -d ${q(action.input.path)} ${q(action.output.path)}`];
    case 'boot-plan':
      return [`plan ${action.modules.map((m) => m.kind).join(', ')} in RAM → ${action.json.name}, ${action.svg.name}`];
    case 'boot-dtb':
      return [`dtc -I dtb -O dtb -p 4096 ${q(action.input.path)} && fdtput …   # /chosen, modules and ${action.edits.length} fixups → ${action.output.name}`];
    case 'boot-script':
      // boot.scr is boot.cmd wrapped by mkimage; uEnv.txt is written as it is (there is no boot.cmd then).
      return [`write ${action.boot.firmware === 'u-boot' ? `${action.cmd.name} && mkimage -T script -d ${q(action.cmd.path)} ${q(action.output.path)}` : action.output.name}${action.env ? ` && mkenvimage → ${action.env.name}` : ''}`];
    case 'boot-check':
      return [`check the plan${action.dtb ? ', the device tree' : ''}${action.config ? ', the kernel config' : ''} → ${action.report.name}`];
    default:
      return unreachable(action);
  }
}

/** Reads refs/xenbuild/base of a tree without spawning git. */
export function readBaseRef(srcDir: string): string | undefined {
  const gitDir = join(srcDir, '.git');
  try {
    return readFileSync(join(gitDir, BASE_REF), 'utf8').trim();
  } catch {
    try {
      const line = readFileSync(join(gitDir, 'packed-refs'), 'utf8')
        .split('\n')
        .find((l) => l.endsWith(` ${BASE_REF}`));
      return line?.split(' ')[0];
    } catch {
      return undefined;
    }
  }
}
