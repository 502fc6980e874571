/**
 * Unpacks a root file system tarball into a staging directory for genimage.
 *
 * The archive may be plain, gzip (read by the `tar` package itself), xz,
 * bzip2 or zstd (decompressed next to the staging directory with the host
 * tool first). Every entry is checked with the same rules as source tarballs
 * (no absolute paths, no `..`, nothing written through a symlink, no hard
 * link leaving the directory) before anything is written; symlinks may point
 * anywhere (`/bin/sh -> /bin/busybox`): they are resolved on the card, never here.
 * Device nodes and FIFOs are not extracted but returned (`special`, with
 * the tar file to take them from): the image step has GNU tar extract them,
 * for real when it runs as root, under fakeroot otherwise
 * (extractMembersArgv, build.ts, as-root.ts), so that they are on the card.
 * The same GNU tar run extracts the archive's directories again over the
 * staged ones, which gives them the archive's modification times (extraction
 * and the device nodes made in them changed them), and symlinks get theirs
 * here: same archive, same inodes.
 * Modes are kept exactly (set again after extraction, so 1777 /tmp and setuid busybox survive);
 * owners are not (every file belongs to whoever runs the build, and
 * genimage sees them as root:root: as-root.ts).
 */
import { chmod, lstat, lutimes } from 'node:fs/promises';
import { join } from 'node:path';
import { list, x as extract } from 'tar';
import { findUnsafeEntry, readableTar } from '../host/tar.js';
import { TaskFailure } from '../host/failure.js';
import { exec } from '../host/process.js';

export interface StageOptions {
  /** Scratch space for a decompressed copy of the archive. */
  workDir: string;
  signal?: AbortSignal;
  onLine?: (line: string) => void;
}

const SPECIAL = new Set(['CharacterDevice', 'BlockDevice', 'FIFO']);

/**
 * GNU tar extracting the members `listFile` names (NUL-separated, as
 * extractRootfs returns them) of `tarFile` into `dest`: how the device nodes
 * and FIFOs are made. GNU tar reads their numbers in every tar format (the
 * `tar` package does not in GNU-format headers, tar's default), and it runs
 * as root or under fakeroot (as-root.ts), which fakes its mknod calls. Owned
 * by whoever extracts, modes as archived.
 */
export const extractMembersArgv = (tarFile: string, dest: string, listFile: string): string[] => [
  'tar',
  '--extract',
  `--file=${tarFile}`,
  `--directory=${dest}`,
  '--no-same-owner',
  '--preserve-permissions',
  '--no-wildcards',
  // A directory named is that directory alone, not its contents again.
  '--no-recursion',
  '--null',
  '--verbatim-files-from',
  `--files-from=${listFile}`,
];

/** Entry types whose own mode matters (a hard link shares its target's inode, a symlink has none). */
const MODED = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);

/**
 * Sets every file and directory to its archive mode. Extraction alone cannot:
 * mkdir() applies the process umask (1777 /tmp would become 1755), and the
 * kernel clears setuid/setgid when an unprivileged process writes the file.
 */
async function restoreModes(dest: string, modes: Map<string, number>): Promise<void> {
  for (const [entry, mode] of modes) {
    const file = join(dest, entry);
    const st = await lstat(file).catch(() => undefined);
    if (st && !st.isSymbolicLink() && (st.mode & 0o7777) !== mode) await chmod(file, mode);
  }
}

/**
 * Extracts the root file system `archive` into the (empty) directory `dest`.
 * Returns the member names of the device nodes and FIFOs, not extracted, and
 * of the directories (whose times GNU tar sets: see the file comment), and
 * the tar file holding them, a decompressed copy in workDir or the archive
 * itself (see the file comment). Fails with
 * 'unsafe-archive-entry' before writing anything if an entry could land outside `dest`.
 */
export async function extractRootfs(
  archive: string,
  dest: string,
  opts: StageOptions,
): Promise<{ entries: number; special: string[]; directories: string[]; tarFile: string }> {
  const name = archive.slice(archive.lastIndexOf('/') + 1);
  const unsafe = (entry: string, why: string) => new TaskFailure({ reason: 'unsafe-archive-entry', archive: name, entry, why });
  const run = (argv: string[]) => exec(argv, { cwd: opts.workDir, onLine: opts.onLine ?? (() => undefined), ...(opts.signal ? { signal: opts.signal } : {}) });
  const tarFile = await readableTar(archive, opts.workDir, 'rootfs.tar', run);
  const entries: { path: string; type: string; linkpath?: string }[] = [];
  // The last entry of a path wins, as in extraction.
  const special = new Map<string, string>();
  const directories = new Map<string, string>();
  const links = new Map<string, Date>();
  const modes = new Map<string, number>();
  try {
    await list({
      file: tarFile,
      strict: true,
      onReadEntry: (e) => {
        const key = join('/', e.path);
        if (SPECIAL.has(e.type)) special.set(key, e.path);
        else special.delete(key);
        if (e.type === 'Directory' && key !== '/') directories.set(key, e.path);
        else directories.delete(key);
        if (e.type === 'SymbolicLink' && e.mtime) links.set(e.path, e.mtime);
        else links.delete(e.path);
        entries.push(e.linkpath ? { path: e.path, type: e.type, linkpath: e.linkpath } : { path: e.path, type: e.type });
        if (MODED.has(e.type) && typeof e.mode === 'number') modes.set(e.path, e.mode & 0o7777);
        else modes.delete(e.path);
      },
    });
  } catch (err) {
    throw unsafe('(archive)', `cannot be read as a tar archive (${(err as Error).message})`);
  }
  const problem = findUnsafeEntry(entries, 0, { rootfs: true });
  if (problem) throw unsafe(problem.entry, problem.why);
  if (opts.signal?.aborted) throw new TaskFailure({ reason: 'cancelled' });
  try {
    await extract({
      file: tarFile,
      cwd: dest,
      strict: true,
      preserveOwner: false,
      // Entry paths were checked above; this keeps absolute symlink targets (/bin/sh -> /bin/busybox) as they are.
      preservePaths: true,
      chmod: true,
      processUmask: 0,
      filter: (_path, entry) => !('type' in entry && SPECIAL.has(entry.type)),
    });
  } catch (err) {
    const e = err as Error & { path?: string };
    throw unsafe(e.path ?? '(archive)', `could not be extracted (${e.message})`);
  }
  if (opts.signal?.aborted) throw new TaskFailure({ reason: 'cancelled' });
  await restoreModes(dest, modes);
  // The tar package dates the links it makes "now"; the card gets their archived times.
  for (const [entry, time] of links) await lutimes(join(dest, entry), time, time).catch(() => undefined);
  return { entries: entries.length, special: [...special.values()], directories: [...directories.values()], tarFile };
}
