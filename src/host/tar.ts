import { open, symlink } from 'node:fs/promises';
import path from 'node:path';

/**
 * Tar archives as every floor reads them: which decompressor an archive
 * needs, a copy the `tar` package can read, and which entries could write
 * outside the directory they are extracted into. Source tarballs
 * (actions/tarball.ts) and root file systems (image/stage.ts) share it.
 */

/** One entry of an archive, as the `tar` package lists it. */
export interface TarEntry {
  path: string;
  type: string;
  linkpath?: string;
}

type Compression = 'gzip-or-none' | 'xz' | 'zstd' | 'bzip2';

async function sniff(file: string): Promise<Compression> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(6), 0, 6, 0);
    const magic = buffer.subarray(0, bytesRead).toString('hex');
    if (magic.startsWith('fd377a585a00')) return 'xz';
    if (magic.startsWith('28b52ffd')) return 'zstd';
    if (magic.startsWith('425a68')) return 'bzip2';
    return 'gzip-or-none';
  } finally {
    await handle.close();
  }
}

/**
 * A tar file the `tar` package can read for `archive`: the archive itself
 * (plain or gzip, which the package reads), or a copy decompressed by the
 * host tool as `<workDir>/<name>`. `run` runs a program in workDir (a task's
 * exec, or the image step's).
 */
export async function readableTar(archive: string, workDir: string, name: string, run: (argv: string[]) => Promise<unknown>): Promise<string> {
  const kind = await sniff(archive);
  if (kind === 'gzip-or-none') return archive;
  const out = path.join(workDir, name);
  if (kind === 'zstd') {
    await run(['zstd', '--decompress', '--quiet', '--force', '-o', out, archive]);
  } else {
    // xz and bzip2 cannot name their output: decompress a link placed where the output should go.
    const link = `${out}.${kind === 'xz' ? 'xz' : 'bz2'}`;
    await symlink(path.resolve(archive), link);
    // xz's --no-warn: it cannot give the copy the group of an archive owned by someone else, which is no failure.
    await run([kind, '--decompress', '--keep', '--force', '--quiet', ...(kind === 'xz' ? ['--no-warn'] : []), link]);
  }
  return out;
}

const isAbsolute = (p: string) => p.startsWith('/') || p.startsWith('\\') || /^[A-Za-z]:/.test(p);
const hasDotDot = (p: string) => p.split(/[\\/]/).includes('..');

/**
 * The first entry that could write outside the extraction root, as tar would
 * extract it with `strip`: absolute paths, ".." segments, device nodes, paths
 * under a symlink of the archive, and symlinks or hard links whose target
 * (followed through the archive's own symlinks) leaves the root.
 *
 * `rootfs`: the archive is a root file system, whose symlinks are resolved on
 * the target, inside its own root (`/bin/sh -> /bin/busybox`, `lib -> usr/lib`):
 * their targets are not checked, as nothing here ever follows them; writing
 * through one and hard links leaving the root are still refused. Its device
 * nodes and FIFOs are allowed (the image step makes them: stage.ts).
 */
export function findUnsafeEntry(entries: readonly TarEntry[], strip: number, opts: { rootfs?: boolean } = {}): { entry: string; why: string } | undefined {
  const symlinks = new Map<string, string>(); // stripped path → raw target
  const hardlinks: { entry: string; path: string; target: string }[] = [];
  const kept: { entry: string; path: string }[] = [];
  for (const e of entries) {
    if (isAbsolute(e.path)) return { entry: e.path, why: 'has an absolute path' };
    if (hasDotDot(e.path)) return { entry: e.path, why: 'has a ".." path component' };
    if (!opts.rootfs && ['CharacterDevice', 'BlockDevice', 'FIFO'].includes(e.type)) return { entry: e.path, why: 'is a device node or FIFO' };
    const parts = e.path.split('/');
    if (parts.length <= strip) continue; // tar skips entries stripped to nothing
    const stripped = path.posix.normalize(parts.slice(strip).join('/')).replace(/\/+$/, '');
    kept.push({ entry: e.path, path: stripped });
    const target = e.linkpath ?? '';
    if (e.type === 'SymbolicLink') {
      if (opts.rootfs) {
        symlinks.set(stripped, target);
        continue;
      }
      if (isAbsolute(target)) return { entry: e.path, why: `is a symlink to the absolute path ${target}` };
      symlinks.set(stripped, target);
    } else if (e.type === 'Link') {
      if (isAbsolute(target) || hasDotDot(target)) return { entry: e.path, why: `is a hard link to ${target}, outside the archive` };
      const linkParts = target.split('/');
      if (linkParts.length >= strip) hardlinks.push({ entry: e.path, path: stripped, target: linkParts.slice(strip).join('/') });
    }
  }
  for (const k of kept) {
    const parts = k.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (symlinks.has(prefix)) return { entry: k.entry, why: `would be written through the symlink ${prefix}` };
    }
  }
  for (const k of opts.rootfs ? [] : kept) {
    const target = symlinks.get(k.path);
    if (target !== undefined && escapes(path.posix.dirname(k.path), target, symlinks)) {
      return { entry: k.entry, why: `is a symlink to ${target}, outside the extraction directory` };
    }
  }
  for (const h of hardlinks) {
    if (escapes('.', h.target, symlinks)) return { entry: h.entry, why: `is a hard link to ${h.target}, outside the extraction directory` };
  }
  return undefined;
}

/** Whether `target`, relative to directory `from`, leaves the root once the archive's symlinks are followed. */
function escapes(from: string, target: string, symlinks: ReadonlyMap<string, string>): boolean {
  const resolved = from.split('/').filter((p) => p !== '' && p !== '.');
  const pending = target.split('/');
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (resolved.length === 0) return true;
      resolved.pop();
      continue;
    }
    resolved.push(part);
    const link = symlinks.get(resolved.join('/'));
    if (link === undefined) continue;
    if (++hops > 40 || isAbsolute(link)) return true; // a loop or an absolute hop: treat as escaping
    resolved.pop();
    pending.unshift(...link.split('/'));
  }
  return false;
}
