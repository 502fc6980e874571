import type { ActionContext, ActionKind } from '../engine/action.js';
import { BASE_REF, readBaseRef, readHead } from '../host/git-refs.js';
import type { ActionSpec } from '../model/graph.js';
import { shellQuote } from '../util/shell.js';
import { GIT_IDENTITY, runGit } from './git.js';

/**
 * Makes a freshly unpacked tree (tarball, Debian package) a one-commit git
 * repository tagged as the pristine base, so patches apply the same way as
 * on git sources and local edits show up in `git status`.
 */
export async function commitTree(ctx: ActionContext, message: string): Promise<string> {
  const env = GIT_IDENTITY;
  await runGit(ctx, ['init', '--quiet'], { cwd: ctx.srcDir, env });
  await runGit(ctx, ['add', '--all', '--force', '.'], { cwd: ctx.srcDir, env });
  await runGit(ctx, ['commit', '--quiet', '--no-verify', '--no-gpg-sign', '--allow-empty', '-m', message], { cwd: ctx.srcDir, env });
  const head = readHead(ctx.srcDir);
  if (!head) throw new Error(`Internal error: no HEAD in ${ctx.srcDir} after committing the unpacked source`);
  await runGit(ctx, ['update-ref', BASE_REF, head], { cwd: ctx.srcDir });
  return head;
}

/** What a dry run says commitTree does. */
export function describeCommitTree(srcDir: string): string {
  return `git -C ${shellQuote(srcDir)} init && git add --all && git commit  # the pristine tree, tagged ${BASE_REF}`;
}

/** Every fetch kind: a tree whose pristine base is gone (deleted by hand) is fetched again. */
export const fetchedTree: Pick<ActionKind<ActionSpec>, 'gone'> = {
  gone: (_spec, task) => (readBaseRef(task.srcDir) === undefined ? { reason: 'output-missing', path: task.srcDir } : undefined),
};
