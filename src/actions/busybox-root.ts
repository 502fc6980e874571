import { chmod, copyFile, cp, lstat, lutimes, mkdir, mkdtemp, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { TaskFailure } from '../host/failure.js';
import type { SpecOf } from '../model/graph.js';
import type { ActionContext } from '../engine/action.js';

type BusyboxRoot = SpecOf<'busybox-root'>;

/** Fixed timestamp for every file in the archives, so the same inputs give the same bytes. */
const EPOCH = new Date(0);

/**
 * A minimal root made of a static busybox, an init script and, optionally,
 * kernel modules with what they depend on (read from the modules with
 * modinfo), packed as a gzip'd newc cpio (an initramfs, /init) or a tarball
 * (a root filesystem, /sbin/init) whose files are all owned by root.
 * The init script installs busybox's applets itself (`busybox --install -s`):
 * an ARM busybox cannot be asked for its applet list on the build host.
 */
export async function runBusyboxRoot(a: BusyboxRoot, ctx: ActionContext): Promise<void> {
  await mkdir(dirname(a.output.path), { recursive: true });
  const stage = await mkdtemp(join(dirname(a.output.path), `.${basename(a.output.path)}.stage-`));
  const partial = `${a.output.path}.partial`;
  try {
    for (const dir of ['bin', 'sbin', 'dev', 'proc', 'sys', 'etc', 'mnt', 'newroot', 'root', 'tmp', 'run']) await mkdir(join(stage, dir));
    await copyFile(a.busybox, join(stage, 'bin', 'busybox'));
    await chmod(join(stage, 'bin', 'busybox'), 0o755);
    await symlink('busybox', join(stage, 'bin', 'sh'));
    for (const tree of a.trees ?? []) {
      // Links stay links (a Debian tree's /lib/ld-linux-armhf.so.3, its .so names), pointing where they point in the root.
      if (!(await isDirectory(tree))) throw new TaskFailure({ reason: 'bad-artifact', path: tree, message: 'busybox-root trees: not a directory' });
      await cp(tree, stage, { recursive: true, verbatimSymlinks: true, force: true, filter: (src) => basename(src) !== '.git' });
    }
    for (const f of a.files ?? []) {
      const to = join(stage, f.to);
      if (relative(stage, to).startsWith('..')) throw new TaskFailure({ reason: 'bad-artifact', path: f.to, message: 'leaves the root' });
      await mkdir(dirname(to), { recursive: true });
      await copyFile(f.from, to);
    }
    const init = a.format === 'cpio' ? 'init' : 'sbin/init';
    await rm(join(stage, init), { force: true });
    await copyFile(a.init.path, join(stage, init));
    await chmod(join(stage, init), 0o755);
    if (a.modules) {
      const order = await moduleLoadOrder(ctx, a.modules.dir, a.modules.load);
      await mkdir(join(stage, 'lib', 'modules'), { recursive: true });
      for (const m of order) await copyFile(m.path, join(stage, 'lib', 'modules', `${m.name}.ko`));
      await writeFile(join(stage, 'etc', 'xenbuild-modules'), order.map((m) => m.name).join('\n') + '\n');
      ctx.log(`modules, in load order: ${order.map((m) => m.name).join(' ')}`);
    }
    const entries = (await listTree(stage)).sort();
    // Every entry dated 1970: the same inputs give the same archive.
    for (const e of entries) await lutimes(join(stage, e), EPOCH, EPOCH);
    await lutimes(stage, EPOCH, EPOCH);
    if (a.format === 'cpio') {
      const list = join(stage, '..', `${basename(stage)}.list`);
      await writeFile(list, entries.join('\n') + '\n');
      try {
        await ctx.exec(['cpio', '--quiet', '-o', '-H', 'newc', '-R', '0:0', '--reproducible', '-F', `${partial}.cpio`], { cwd: stage, inputFile: list });
      } finally {
        await rm(list, { force: true });
      }
      await ctx.exec(['gzip', '-9', '-n', '-f', `${partial}.cpio`], { cwd: dirname(partial) });
      await rename(`${partial}.cpio.gz`, a.output.path);
    } else {
      const tar = await import('tar');
      await tar.create({ cwd: stage, file: partial, portable: true, mtime: EPOCH, noDirRecurse: true }, entries);
      await rename(partial, a.output.path);
    }
    ctx.log(`${a.output.name}: ${entries.length} entries`);
  } finally {
    await rm(stage, { recursive: true, force: true });
    await rm(partial, { force: true });
    await rm(`${partial}.cpio`, { force: true });
  }
}

/** Every path in a tree, relative, directories included, for cpio and tar. */
async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      out.push(relative(root, path));
      if (entry.isDirectory()) await walk(path);
    }
  };
  await walk(root);
  return out;
}

/** The modules to load, each after what it depends on (modinfo -F depends), from a kernel's lib/modules/<version>. */
export async function moduleLoadOrder(ctx: ActionContext, dir: string, wanted: readonly string[]): Promise<{ name: string; path: string }[]> {
  const files = new Map<string, string>();
  const index = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) await index(p);
      else if (entry.name.endsWith('.ko')) files.set(entry.name.slice(0, -3).replaceAll('-', '_'), p);
    }
  };
  await index(dir).catch(() => {
    throw new TaskFailure({ reason: 'bad-artifact', path: dir, message: 'is not a kernel modules directory' });
  });
  const order: { name: string; path: string }[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = async (raw: string, chain: string[]): Promise<void> => {
    const name = raw.replaceAll('-', '_');
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting')
      throw new TaskFailure({ reason: 'bad-artifact', path: dir, message: `modules depend on each other in a circle: ${[...chain, name].join(' → ')}` });
    const path = files.get(name);
    if (!path)
      throw new TaskFailure({
        reason: 'bad-artifact',
        path: dir,
        message: `has no module ${raw}${chain.length ? ` (needed by ${chain[chain.length - 1]})` : ''}`,
      });
    state.set(name, 'visiting');
    const depends = (await ctx.exec(['modinfo', '-F', 'depends', path], { cwd: dir, capture: true, quiet: true })).trim();
    for (const dep of depends.split(',').filter(Boolean)) await visit(dep, [...chain, name]);
    state.set(name, 'done');
    order.push({ name, path });
  };
  for (const m of wanted) await visit(m, []);
  return order;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory();
  } catch {
    return false;
  }
}
