import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * What a source tree's git directory says, read without running a task: the
 * commit checked out, the pristine base xenbuild left, and hand edits. Used by
 * freshness and by the actions that make the trees.
 */

/** The ref every fetched tree carries for its pristine source, so patch tasks know their base. */
export const BASE_REF = 'refs/xenbuild/base';

/** Tracked files only: build products are untracked (or ignored), and do not count as edits. */
export const STATUS_ARGS = ['status', '--porcelain', '-z', '--untracked-files=no'];

/** The paths in `git status --porcelain -z` output. */
export function porcelainPaths(out: string): string[] {
  const fields = out.split('\0');
  const files: string[] = [];
  for (let i = 0; i < fields.length; i++) {
    const entry = fields[i]!;
    if (entry.length < 4) continue;
    files.push(entry.slice(3));
    if (entry[0] === 'R' || entry[0] === 'C') i++; // the next field is the rename's source
  }
  return files;
}

/**
 * The tracked files of `dir` that differ from its HEAD (hand edits), outside
 * any task: for freshness. Takes no lock and writes nothing (git's optional
 * index refresh is off), so `status` and `--dry-run` stay read-only. Empty when
 * `dir` is not a git tree.
 */
export async function trackedEdits(dir: string): Promise<string[]> {
  if (!existsSync(path.join(dir, '.git'))) return [];
  const { execFile } = await import('node:child_process');
  return new Promise((resolve) => {
    execFile('git', ['--no-optional-locks', ...STATUS_ARGS], { cwd: dir, maxBuffer: 64 << 20, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout) =>
      resolve(err ? [] : porcelainPaths(stdout).sort()),
    ).stdin?.end();
  });
}

/**
 * The commit checked out in `srcDir`, read from .git/HEAD (detached id, or a
 * symbolic ref followed through loose ref files and packed-refs) without
 * spawning git. Undefined when it cannot tell (no repository, unborn branch,
 * reftable storage…); callers then treat the tree as not up to date.
 */
export function readHead(srcDir: string): string | undefined {
  try {
    const dotGit = path.join(srcDir, '.git');
    let gitDir = dotGit;
    if (statSync(dotGit).isFile()) {
      const m = /^gitdir: (.+)$/m.exec(readFileSync(dotGit, 'utf8'));
      if (!m) return undefined;
      gitDir = path.resolve(srcDir, m[1]!.trim());
    }
    const commonFile = path.join(gitDir, 'commondir');
    const common = existsSync(commonFile) ? path.resolve(gitDir, readFileSync(commonFile, 'utf8').trim()) : gitDir;
    let content = readFileSync(path.join(gitDir, 'HEAD'), 'utf8').trim();
    for (let depth = 0; depth < 10; depth++) {
      if (/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(content)) return content;
      const m = /^ref: (refs\/\S+)$/.exec(content);
      if (!m || m[1]!.split('/').includes('..')) return undefined;
      const next = readRef([gitDir, common], m[1]!);
      if (next === undefined) return undefined;
      content = next;
    }
  } catch {
    /* unreadable: unknown */
  }
  return undefined;
}

function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** A ref's value: a loose file in one of `dirs`, else packed-refs of the last (common) one. */
function readRef(dirs: readonly string[], ref: string): string | undefined {
  for (const dir of dirs) {
    const loose = readOptional(path.join(dir, ref));
    if (loose !== undefined) return loose.trim();
  }
  const packed = (readOptional(path.join(dirs.at(-1)!, 'packed-refs')) ?? '').split('\n');
  const line = packed.find((l) => !l.startsWith('#') && !l.startsWith('^') && l.slice(l.indexOf(' ') + 1).trim() === ref);
  return line?.slice(0, line.indexOf(' '));
}

/** Reads refs/xenbuild/base of a tree without spawning git. */
export function readBaseRef(srcDir: string): string | undefined {
  const gitDir = path.join(srcDir, '.git');
  try {
    return readFileSync(path.join(gitDir, BASE_REF), 'utf8').trim();
  } catch {
    try {
      const line = readFileSync(path.join(gitDir, 'packed-refs'), 'utf8')
        .split('\n')
        .find((l) => l.endsWith(` ${BASE_REF}`));
      return line?.split(' ')[0];
    } catch {
      return undefined;
    }
  }
}

/**
 * SOURCE_DATE_EPOCH of a source tree (reproducible-builds.org): the date of
 * the sources as pinned, never of the build. A Debian source's is its
 * changelog's last entry; a git tree's is its newest commit's (xenbuild's own
 * commits, of tarballs and patches, are dated 1970 and do not count);
 * `fallback` when the tree tells none.
 */
export async function sourceDateEpoch(dir: string, fallback: number): Promise<number> {
  const { execFile } = await import('node:child_process');
  const run = (argv: string[]) =>
    new Promise<string | undefined>((resolve) =>
      execFile(argv[0]!, argv.slice(1), { cwd: dir, env: { ...process.env, LC_ALL: 'C', TZ: 'UTC' } }, (err, stdout) =>
        resolve(err ? undefined : stdout.trim()),
      ),
    );
  if (existsSync(path.join(dir, 'debian', 'changelog'))) {
    const stamp = Number(await run(['dpkg-parsechangelog', '-l', 'debian/changelog', '-STimestamp']));
    if (Number.isSafeInteger(stamp) && stamp > 0) return stamp;
  }
  if (!existsSync(path.join(dir, '.git'))) return fallback;
  const times = ((await run(['git', 'log', '--format=%ct', '--max-count=200', 'HEAD'])) ?? '').split('\n').map(Number);
  const newest = Math.max(0, ...times.filter((t) => Number.isSafeInteger(t)));
  return newest > 0 ? newest : fallback;
}
