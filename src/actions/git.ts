import { existsSync, readdirSync, statSync } from 'node:fs';
import { shellLine } from '../util/shell.js';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TaskFailure } from '../host/failure.js';
import type { ActionContext } from '../engine/action.js';
import { porcelainPaths, STATUS_ARGS } from '../host/git-refs.js';

/** A source pinned to one commit of a git repository. */
/**
 * Fixed identity and dates for the commits xenbuild makes (a tarball's tree, a
 * patch series), so the same inputs give the same commit ids on every machine.
 */
export const GIT_IDENTITY: Readonly<Record<string, string>> = {
  GIT_AUTHOR_NAME: 'xenbuild',
  GIT_AUTHOR_EMAIL: 'xenbuild@localhost',
  GIT_AUTHOR_DATE: '1970-01-01T00:00:00Z',
  GIT_COMMITTER_NAME: 'xenbuild',
  GIT_COMMITTER_EMAIL: 'xenbuild@localhost',
  GIT_COMMITTER_DATE: '1970-01-01T00:00:00Z',
};

export interface GitSource {
  /** Clone URL (any form git accepts) or local path. */
  git: string;
  /** Tag or branch that must still point at `commit`. */
  ref?: string;
  /** 40-hex commit id. */
  commit: string;
}

/** The paths describeFetchGit needs (a subset of ActionContext). */
export type GitPaths = Pick<ActionContext, 'cacheDir' | 'srcDir' | 'mirrorDirs'>;

const REFSPECS = ['+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*'];
const GIT_ENV = { GIT_TERMINAL_PROMPT: '0' };

// ---------------------------------------------------------------- names

interface ParsedUrl {
  host?: string;
  /** Decoded path components without '', '.' or '..'. */
  segments: string[];
}

function parseGitUrl(url: string): ParsedUrl {
  const split = (p: string) => p.split('/').filter((s) => s !== '' && s !== '.' && s !== '..');
  const hostOf = (h: string) => (/^\.*$/.test(h) ? undefined : h.toLowerCase());
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  if (scheme && scheme[1]!.toLowerCase() !== 'file') {
    try {
      const u = new URL(url);
      return { host: hostOf(u.hostname), segments: split(safeDecode(u.pathname)) };
    } catch {
      /* not a URL after all: treated as a path below */
    }
  }
  if (scheme) return { segments: split(path.resolve(safeDecode(url.replace(/^file:\/\/[^/]*/i, '')))) };
  // scp-like syntax: [user@]host:path, recognised by git when ':' comes before any '/'.
  const scp = /^(?:[^@/]+@)?([^/:]+):(.*)$/.exec(url);
  if (scp) return { host: hostOf(scp[1]!), segments: split(scp[2]!) };
  return { segments: split(path.resolve(url)) };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/**
 * A stable, readable, filesystem-safe directory name for a repository URL:
 * "git://xenbits.xen.org/xen.git" → "xenbits.xen.org/xen.git"; local paths and
 * file:// URLs live under "_local/" (no host name starts with "_"). Characters
 * outside [A-Za-z0-9._+-] become "_" and then a hash of the URL is appended so
 * that two URLs never share a key. Never contains "", "." or ".." segments.
 */
export function gitCacheKey(url: string): string {
  const { host, segments } = parseGitUrl(url);
  let changed = false;
  const parts = [host ?? '_local', ...segments].map((raw) => {
    let safe = raw.replace(/[^A-Za-z0-9._+-]/g, '_');
    if (/^\.+$/.test(safe) || safe.startsWith('-')) safe = `_${safe}`;
    if (safe.length > 100) safe = safe.slice(0, 100);
    if (safe !== raw) changed = true;
    return safe;
  });
  if (changed) parts[parts.length - 1] += `-${shortHash(url)}`;
  return parts.join('/');
}

/**
 * Where a --mirror directory may hold a clone of `url`. For each mirror
 * directory in the order given: DIR/<host>/<path> as spelled in the URL, the
 * same with the ".git" suffix toggled, DIR/<basename>, DIR/<basename> with
 * ".git" toggled. Local-path URLs only get the basename forms. Duplicates are
 * dropped; nothing returned lies outside its mirror directory.
 */
export function mirrorCandidates(url: string, mirrorDirs: readonly string[]): string[] {
  const { host, segments } = parseGitUrl(url);
  const name = segments.at(-1);
  if (name === undefined) return [];
  const toggled = name.endsWith('.git') ? name.slice(0, -4) : `${name}.git`;
  const names = toggled === '' ? [name] : [name, toggled];
  const out: string[] = [];
  for (const dir of mirrorDirs.map((d) => path.resolve(d))) {
    if (host !== undefined) for (const n of names) out.push(path.join(dir, host, ...segments.slice(0, -1), n));
    for (const n of names) out.push(path.join(dir, n));
  }
  return [...new Set(out)];
}

function isGitRepo(dir: string): boolean {
  return existsSync(path.join(dir, '.git')) || (existsSync(path.join(dir, 'HEAD')) && existsSync(path.join(dir, 'objects')));
}

export function cacheRepoPath(cacheDir: string, url: string): string {
  return path.join(cacheDir, 'git', gitCacheKey(url));
}

// ---------------------------------------------------------------- running git

export interface GitOptions {
  cwd: string;
  env?: Record<string, string>;
  capture?: boolean;
  quiet?: boolean;
}

/** Run `git -c advice.detachedHead=false <args>` through ctx.exec. */
export function runGit(ctx: ActionContext, args: readonly string[], opts: GitOptions): Promise<string> {
  return ctx.exec(['git', '-c', 'advice.detachedHead=false', ...args], {
    cwd: opts.cwd,
    env: { ...GIT_ENV, ...opts.env },
    capture: opts.capture ?? false,
    quiet: opts.quiet ?? false,
  });
}

export type GitResult = { ok: true; out: string } | { ok: false; errors: string[] };

/**
 * Run git, turning a non-zero exit into `{ ok: false, errors }` where errors
 * are git's own error()/die() messages. ctx.exec does not hand back stderr, so
 * they are collected from git's trace2 event stream (GIT_TRACE2_EVENT).
 */
export async function tryGit(ctx: ActionContext, args: readonly string[], opts: GitOptions): Promise<GitResult> {
  const trace = path.join(tmpdir(), `xenbuild-git-${process.pid}-${randomBytes(6).toString('hex')}.json`);
  try {
    const out = await runGit(ctx, args, { ...opts, env: { ...opts.env, GIT_TRACE2_EVENT: trace } });
    return { ok: true, out };
  } catch (err) {
    if (!(err instanceof TaskFailure) || err.failure.reason !== 'exit-non-zero') throw err;
    return { ok: false, errors: await readTraceErrors(trace) };
  } finally {
    await rm(trace, { force: true });
  }
}

async function readTraceErrors(trace: string): Promise<string[]> {
  const text = await readFile(trace, 'utf8').catch(() => '');
  const errors: string[] = [];
  for (const line of text.split('\n')) {
    try {
      const event = JSON.parse(line) as { event?: string; msg?: string };
      if (event.event === 'error' && event.msg && errors.at(-1) !== event.msg) errors.push(event.msg);
    } catch {
      /* partial or non-JSON line */
    }
  }
  return errors;
}

function errorText(errors: string[]): string {
  return errors.length > 0 ? errors.join('\n') : 'git failed without a message (see the task log)';
}

async function hasCommit(ctx: ActionContext, repo: string, commit: string): Promise<boolean> {
  return (await tryGit(ctx, ['cat-file', '-e', `${commit}^{commit}`], { cwd: repo, quiet: true })).ok;
}

/** The commit a tag or branch of `repo` peels to, or undefined. Tags win over branches. */
async function resolveRef(ctx: ActionContext, repo: string, ref: string): Promise<string | undefined> {
  const names = ref.startsWith('refs/') ? [ref] : [`refs/tags/${ref}`, `refs/heads/${ref}`];
  for (const name of names) {
    const r = await tryGit(ctx, ['rev-parse', '--verify', '--quiet', `${name}^{commit}`], { cwd: repo, capture: true, quiet: true });
    if (r.ok) return r.out.trim();
  }
  return undefined;
}

/** Tracked files with local modifications (`git status --porcelain --untracked-files=no`). */
export async function modifiedFiles(ctx: ActionContext, dir: string): Promise<string[]> {
  return porcelainPaths(await runGit(ctx, STATUS_ARGS, { cwd: dir, capture: true, quiet: true }));
}

/** Reject a 40-hex id that is not one (a bug upstream: recipes are validated). */
export function checkCommitId(commit: string): string {
  if (!/^[0-9a-fA-F]{40}$/.test(commit)) throw new Error(`Internal error: ${JSON.stringify(commit)} is not a 40-hex commit id`);
  return commit.toLowerCase();
}

// ---------------------------------------------------------------- fetchGit

/**
 * Make ctx.srcDir a checkout of `src.commit` (detached HEAD), going through a
 * shared bare mirror in `${ctx.cacheDir}/git/<gitCacheKey>`. Needs no network
 * when the cache already holds the commit (and the ref, if any, matches).
 * Fails with 'ref-moved', 'commit-missing', 'fetch-failed' or 'dirty-tree'.
 */
export async function fetchGit(ctx: ActionContext, src: GitSource): Promise<{ commit: string }> {
  const commit = checkCommitId(src.commit);
  if (src.git.startsWith('-')) throw new TaskFailure({ reason: 'fetch-failed', url: src.git, message: 'a repository URL must not start with "-"' });
  const cache = cacheRepoPath(ctx.cacheDir, src.git);
  if (!isGitRepo(cache)) {
    await mkdir(cache, { recursive: true });
    await runGit(ctx, ['init', '--bare', '--quiet', cache], { cwd: cache, quiet: true });
  }
  await updateCache(ctx, cache, src, commit);
  // A ref of our own keeps the pinned commit alive through any gc of the mirror,
  // which the --shared checkouts borrow their objects from.
  await runGit(ctx, ['update-ref', `refs/xenbuild/pinned/${commit}`, commit], { cwd: cache, quiet: true });
  await materialise(ctx, cache, commit);
  return { commit };
}

async function updateCache(ctx: ActionContext, cache: string, src: GitSource, commit: string): Promise<void> {
  const refMatches = async () => src.ref === undefined || (await resolveRef(ctx, cache, src.ref)) === commit;
  if ((await hasCommit(ctx, cache, commit)) && (await refMatches())) return;

  const mirror = mirrorCandidates(src.git, ctx.mirrorDirs).find(isGitRepo);
  const sources = mirror ? [mirror, src.git] : [src.git];
  const fetched: string[] = [];
  let failure: { from: string; message: string } | undefined;
  for (const from of sources) {
    ctx.log(`fetching ${from} into ${cache}`);
    // --update-shallow: a shallow mirror (a CI cache, a depth-1 clone) still serves the commits it has.
    const r = await tryGit(ctx, ['fetch', '--quiet', '--update-shallow', from, ...REFSPECS], { cwd: cache });
    if (!r.ok) {
      failure = { from, message: errorText(r.errors) };
      ctx.log(`cannot fetch ${from}: ${failure.message}`);
      continue;
    }
    fetched.push(from);
    if (await hasCommit(ctx, cache, commit)) break;
    // Not on any branch or tag: servers that allow it can still send it by id.
    await tryGit(ctx, ['fetch', '--quiet', from, commit], { cwd: cache, quiet: true });
    if (await hasCommit(ctx, cache, commit)) break;
  }
  if (fetched.length === 0 && failure) throw new TaskFailure({ reason: 'fetch-failed', url: failure.from, message: failure.message });
  if (src.ref !== undefined) {
    const actual = await resolveRef(ctx, cache, src.ref);
    if (actual !== commit) {
      throw new TaskFailure({ reason: 'ref-moved', url: src.git, ref: src.ref, pinned: commit, actual: actual ?? 'nothing (no such tag or branch)' });
    }
  }
  if (!(await hasCommit(ctx, cache, commit))) {
    throw new TaskFailure({ reason: 'commit-missing', url: src.git, commit, from: fetched.join(' or ') });
  }
}

async function materialise(ctx: ActionContext, cache: string, commit: string): Promise<void> {
  const dir = ctx.srcDir;
  if (existsSync(dir) && statSync(dir).isDirectory() && readdirSync(dir).length === 0) await rm(dir, { recursive: true });
  if (!existsSync(dir)) {
    // Clone and check out next door, then rename: a killed run never leaves a
    // srcDir that looks complete but is not.
    const partial = path.join(path.dirname(dir), `.${path.basename(dir)}.partial`);
    await rm(partial, { recursive: true, force: true });
    await mkdir(path.dirname(dir), { recursive: true });
    try {
      await runGit(ctx, ['clone', '--quiet', '--shared', '--no-checkout', cache, partial], { cwd: path.dirname(dir) });
      await runGit(ctx, ['checkout', '--quiet', '--detach', '-f', commit], { cwd: partial });
      await rename(partial, dir);
    } finally {
      await rm(partial, { recursive: true, force: true });
    }
    return;
  }
  if (!existsSync(path.join(dir, '.git'))) {
    // Something that is not a checkout of ours: never overwrite it.
    throw new TaskFailure({ reason: 'dirty-tree', dir, files: statSync(dir).isDirectory() ? readdirSync(dir).sort() : [dir] });
  }
  const dirty = await modifiedFiles(ctx, dir);
  if (dirty.length > 0) throw new TaskFailure({ reason: 'dirty-tree', dir, files: dirty });
  if (!(await hasCommit(ctx, dir, commit))) {
    const r = await tryGit(ctx, ['fetch', '--quiet', '--no-tags', cache, `refs/xenbuild/pinned/${commit}`], { cwd: dir });
    if (!r.ok) throw new TaskFailure({ reason: 'fetch-failed', url: cache, message: errorText(r.errors) });
  }
  await runGit(ctx, ['checkout', '--quiet', '--detach', '-f', commit], { cwd: dir });
}

/** The commands fetchGit would run, as human-readable lines for --dry-run. */
export function describeFetchGit(src: GitSource, paths: GitPaths): string[] {
  const cmd = (...argv: string[]) => shellLine(argv);
  const cache = cacheRepoPath(paths.cacheDir, src.git);
  const mirror = mirrorCandidates(src.git, paths.mirrorDirs).find(isGitRepo);
  const lines: string[] = [];
  if (!isGitRepo(cache)) lines.push(cmd('git', 'init', '--bare', cache));
  const from = mirror ?? src.git;
  lines.push(
    `${cmd('git', '-C', cache, 'fetch', from, ...REFSPECS)}   # unless ${src.commit} is already cached${mirror ? `; then ${src.git} if the mirror lacks it` : ''}`,
  );
  if (src.ref !== undefined) lines.push(`${cmd('git', '-C', cache, 'rev-parse', '--verify', `${src.ref}^{commit}`)}   # must be ${src.commit}`);
  if (existsSync(paths.srcDir)) {
    lines.push(`${cmd('git', '-C', paths.srcDir, 'status', '--porcelain', '--untracked-files=no')}   # must list nothing`);
    lines.push(cmd('git', '-C', paths.srcDir, 'checkout', '--detach', '-f', src.commit));
  } else {
    const partial = path.join(path.dirname(paths.srcDir), `.${path.basename(paths.srcDir)}.partial`);
    lines.push(cmd('git', 'clone', '--shared', '--no-checkout', cache, partial));
    lines.push(cmd('git', '-C', partial, 'checkout', '--detach', '-f', src.commit));
    lines.push(cmd('mv', partial, paths.srcDir));
  }
  return lines;
}
