import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { TaskFailure } from '../engine/failure.js';
import { JOBS_PLACEHOLDER } from '../analysis/vars.js';
import type { ActionSpec, TaskNode } from '../model/graph.js';
import { unreachable } from '../util/unreachable.js';
import type { ActionContext } from './context.js';
import { describeFetchGit, fetchGit, GIT_IDENTITY, readHead, runGit } from './git.js';

/** The ref every fetched tree carries for its pristine source, so patch tasks know their base. */
export const BASE_REF = 'refs/xenbuild/base';


export interface ActionResult {
  /** For source tasks: the commit the tree is at when the task is done. */
  head?: string;
}

/** Runs one task's action. Expected failures are thrown as TaskFailure. */
export async function runAction(task: TaskNode, ctx: ActionContext, jobs: number): Promise<ActionResult> {
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
      // A tarball becomes a one-commit repository, so patches apply the same way as on git sources.
      const env = GIT_IDENTITY;
      await runGit(ctx, ['init', '--quiet'], { cwd: ctx.srcDir, env });
      await runGit(ctx, ['add', '--all', '--force', '.'], { cwd: ctx.srcDir, env });
      await runGit(ctx, ['commit', '--quiet', '--no-verify', '--no-gpg-sign', '-m', `${action.source.tarball} (sha256 ${action.source.sha256})`], { cwd: ctx.srcDir, env });
      const head = readHead(ctx.srcDir);
      if (!head) throw new Error(`Internal error: no HEAD in ${ctx.srcDir} after committing the tarball`);
      await runGit(ctx, ['update-ref', BASE_REF, head], { cwd: ctx.srcDir });
      return { head };
    }
    case 'patch': {
      const base = readBaseRef(ctx.srcDir);
      if (!base) throw new TaskFailure({ reason: 'commit-missing', url: ctx.srcDir, commit: BASE_REF, from: ctx.srcDir });
      const { applyPatchSeries } = await import('./patch.js');
      const { commit } = await applyPatchSeries(ctx, base, action.patches);
      return { head: commit };
    }
    case 'run': {
      await mkdir(task.cwd, { recursive: true });
      const argv = action.argv.map((a) => a.replaceAll(JOBS_PLACEHOLDER, String(jobs)));
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(task.env)) env[k] = v.replaceAll(JOBS_PLACEHOLDER, String(jobs));
      await ctx.exec(argv, { cwd: task.cwd, env });
      return {};
    }
    case 'artifact': {
      for (const { from, to } of action.files) {
        await mkdir(dirname(to.path), { recursive: true });
        const tmp = join(dirname(to.path), `.${relative(dirname(to.path), to.path)}.partial`);
        await copyFile(from.path, tmp);
        await rename(tmp, to.path).catch(async (err: unknown) => {
          await rm(tmp, { force: true });
          throw err;
        });
        ctx.log(`${from.name} → ${to.name}`);
      }
      return {};
    }
    default:
      return unreachable(action);
  }
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
        `fetch ${action.source.tarball} (sha256 ${action.source.sha256}) and extract it into ${ctx.srcDir}`,
        `git -C ${q(ctx.srcDir)} init && git add --all && git commit  # the pristine tree, tagged ${BASE_REF}`,
      ];
    case 'patch':
      return [
        `git -C ${q(ctx.srcDir)} checkout -f ${BASE_REF}`,
        ...action.patches.map((p) => `git -C ${q(ctx.srcDir)} apply --cached ${q(p.path)} && git commit-tree …   # ${p.name}`),
      ];
    case 'run': {
      const env = Object.entries(task.env).map(([k, v]) => `${k}=${q(v.replaceAll(JOBS_PLACEHOLDER, String(jobs)))} `).join('');
      return [`(cd ${q(task.cwd)} && ${env}${action.argv.map((a) => q(a.replaceAll(JOBS_PLACEHOLDER, String(jobs)))).join(' ')})`];
    }
    case 'artifact':
      return action.files.map((f) => `cp ${q(f.from.path)} ${q(f.to.path)}`);
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
