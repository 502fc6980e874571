import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { TaskFailure, type Failure } from '../host/failure.js';
import type { ActionContext } from '../engine/action.js';
import { checkCommitId, GIT_IDENTITY, modifiedFiles, runGit, tryGit } from './git.js';

/** One patch of a series. */
export interface PatchFile {
  /** Absolute path of the patch file. */
  path: string;
  /** As shown to users, e.g. patches/xen/0001-foo.patch; also the commit message. */
  name: string;
}

export interface PatchOptions {
  /** Leading path components removed from the paths in the patches (git apply -p). Default 1. */
  strip?: number;
}

/**
 * Apply `patches` in order on top of commit `base` in ctx.srcDir, one commit
 * per patch, then check out the last commit (detached). The whole series is
 * applied first in a private index, so a patch that does not apply fails with
 * 'patch-conflict' while the work tree, the index and HEAD stay exactly as
 * they were. Tracked files with local edits make it fail with 'dirty-tree'.
 * An empty series checks out `base`.
 */
export async function applyPatchSeries(ctx: ActionContext, base: string, patches: readonly PatchFile[], opts: PatchOptions = {}): Promise<{ commit: string }> {
  const dir = ctx.srcDir;
  const baseId = checkCommitId(base);
  const strip = opts.strip ?? 1;
  if (!Number.isInteger(strip) || strip < 0) throw new Error(`Internal error: bad patch strip level ${strip}`);
  const found = await tryGit(ctx, ['rev-parse', '--verify', '--quiet', `${baseId}^{commit}`], { cwd: dir, capture: true, quiet: true });
  if (!found.ok) throw new TaskFailure({ reason: 'commit-missing', url: dir, commit: baseId, from: dir });

  const final = await commitSeries(ctx, baseId, patches, strip);
  const dirty = await modifiedFiles(ctx, dir);
  if (dirty.length > 0) throw new TaskFailure({ reason: 'dirty-tree', dir, files: dirty });
  await runGit(ctx, ['checkout', '--quiet', '--detach', '-f', final], { cwd: dir });
  ctx.log(`${dir} is at ${final} (${patches.length} patch${patches.length === 1 ? '' : 'es'} on ${baseId})`);
  return { commit: final };
}

/** Commit the series on `base` using a throw-away index; never touches the work tree. */
async function commitSeries(ctx: ActionContext, base: string, patches: readonly PatchFile[], strip: number): Promise<string> {
  const cwd = ctx.srcDir;
  const gitDir = (await runGit(ctx, ['rev-parse', '--absolute-git-dir'], { cwd, capture: true, quiet: true })).trim();
  // Indexes left behind by a killed run are of no use to anyone.
  for (const name of await readdir(gitDir)) if (name.startsWith('xenbuild-index-')) await rm(path.join(gitDir, name), { force: true });
  const index = path.join(gitDir, `xenbuild-index-${process.pid}-${randomBytes(6).toString('hex')}`);
  const env = { ...GIT_IDENTITY, GIT_INDEX_FILE: index };
  try {
    await runGit(ctx, ['read-tree', base], { cwd, env, quiet: true });
    let head = base;
    for (const patch of patches) {
      const applied = await tryGit(ctx, ['apply', '--cached', `-p${strip}`, '--whitespace=nowarn', path.resolve(patch.path)], { cwd, env });
      if (!applied.ok) throw new TaskFailure(conflict(patch, applied.errors));
      const tree = (await runGit(ctx, ['write-tree'], { cwd, env, capture: true, quiet: true })).trim();
      const args = ['-c', 'i18n.commitEncoding=UTF-8', 'commit-tree', '--no-gpg-sign', '-p', head, '-m', patch.name, tree];
      head = (await runGit(ctx, args, { cwd, env, capture: true, quiet: true })).trim();
      ctx.log(`applied ${patch.name}`);
    }
    return head;
  } finally {
    await rm(index, { force: true });
    await rm(`${index}.lock`, { force: true });
  }
}

const FILE_ERRORS = ['patch does not apply', 'does not exist in index', 'already exists in index', 'does not match index', 'wrong type'];

/** Turn git apply's error messages into a patch-conflict naming the file and hunk. */
function conflict(patch: PatchFile, errors: readonly string[]): Failure {
  let file: string | undefined;
  let hunk: string | undefined;
  for (const error of errors) {
    const failed = /^patch failed: (.+):(\d+)$/.exec(error);
    if (failed) {
      file ??= failed[1];
      hunk ??= `line ${failed[2]}`;
      continue;
    }
    const suffix = FILE_ERRORS.find((s) => error.endsWith(`: ${s}`));
    if (suffix) file ??= error.slice(0, -(suffix.length + 2));
  }
  const message = errors.length > 0 ? errors.map((e) => `error: ${e}`).join('\n') : 'git apply failed (see the task log)';
  return { reason: 'patch-conflict', patch: patch.name, file, hunk, message };
}
