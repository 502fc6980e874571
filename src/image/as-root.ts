/**
 * How genimage comes to see every file of a root tree as root:root.
 *
 * genimage fills an ext4 partition with `mke2fs -d DIR`, which copies each
 * file's owner from the host; on the card every file must be root's, whoever
 * builds. Four ways, cheapest first:
 *
 *   as-is           every entry is root:root already (a build run as root):
 *                   genimage runs as it is.
 *   user-namespace  every entry is the builder's own, uid and gid (a build
 *                   run by an ordinary user): genimage runs in a user
 *                   namespace where the builder is root
 *                   (`unshare --map-root-user`), so the kernel itself reports
 *                   the builder's files as 0:0, at no cost per file.
 *   fakeroot-in-user-namespace
 *                   an ordinary user's build whose tree is not all its own,
 *                   or that has device nodes to make: genimage runs under
 *                   fakeroot (fakeroot.ts), whose faked answers mke2fs for
 *                   each file and fakes each mknod, inside a user namespace
 *                   where the builder is root, so that it can still read a
 *                   file whose mode denies even its owner (a 0000
 *                   /etc/shadow), as root can.
 *   fakeroot        a root build holding other users' files, or a host
 *                   without user namespaces: under fakeroot alone.
 *
 * None of them changes an existing file on the host. Device nodes of a root
 * file system tarball are made first, in the same way (`prepare`, a GNU tar
 * extraction): real ones as root, in the build's temp directory; faked ones,
 * which only this fakeroot session sees, otherwise.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { exec, type ExecOptions } from '../host/process.js';
import { withFakeroot } from './fakeroot.js';

export type RootView = 'as-is' | 'user-namespace' | 'fakeroot-in-user-namespace' | 'fakeroot';

interface Ids {
  uid: number;
  gid: number;
}

const self = (): Ids => ({ uid: process.geteuid?.() ?? -1, gid: process.getegid?.() ?? -1 });

/**
 * Who owns the trees: 'root' (every entry 0:0), 'builder' (every entry
 * `ids`', the process's own by default) or 'mixed' (the first entry that
 * fits neither ends the walk).
 */
export function treeOwners(dirs: readonly string[], ids: Ids = self()): 'root' | 'builder' | 'mixed' {
  let root = true;
  let builder = true;
  // Synchronous: a thousand lstat calls take a few milliseconds this way, ten times more through promises.
  const walk = (path: string): boolean => {
    const st = lstatSync(path);
    root &&= st.uid === 0 && st.gid === 0;
    builder &&= st.uid === ids.uid && st.gid === ids.gid;
    if (!root && !builder) return false;
    return !st.isDirectory() || readdirSync(path).every((entry) => walk(join(path, entry)));
  };
  dirs.every(walk);
  return root ? 'root' : builder ? 'builder' : 'mixed';
}

let userNamespaceProbe: Promise<boolean> | undefined;

/** Whether this host lets the builder be root in a user namespace of its own (asked once per process). */
export function userNamespaces(): Promise<boolean> {
  userNamespaceProbe ??= exec(['unshare', '--map-root-user', 'true'], { cwd: '/', onLine: () => undefined }).then(
    () => true,
    () => false,
  );
  return userNamespaceProbe;
}

/** The cheapest way (see the file comment) for genimage to see the trees as root's, `devices` made in them first. */
async function chooseRootView(trees: readonly string[], devices = false): Promise<RootView> {
  const owners = treeOwners(trees);
  const root = self().uid === 0;
  // Only root makes real device nodes; in a user namespace, faked fakes them.
  if (owners === 'root' && (root || !devices)) return 'as-is';
  if (root || !(await userNamespaces())) return 'fakeroot';
  return owners === 'builder' && !devices ? 'user-namespace' : 'fakeroot-in-user-namespace';
}

/** `argv` run as root of a user namespace, with `env` set only inside it (unshare itself must see the real uid). */
const inUserNamespace = (argv: readonly string[], env: Record<string, string> = {}): string[] => [
  'unshare',
  '--map-root-user',
  '--',
  ...(Object.keys(env).length > 0 ? ['env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`)] : []),
  ...argv,
];

/**
 * Runs `argv` (genimage) so that it sees every file of `trees` as root:root,
 * after the `prepare` commands (device nodes: see the file comment); returns the
 * way chosen. `run` is exec()'s options; its signal and onGroup also govern
 * faked when fakeroot is the way.
 */
export async function runAsRoot(
  argv: readonly string[],
  trees: readonly string[],
  run: ExecOptions & { env: Record<string, string> },
  prepare: readonly (readonly string[])[] = [],
  /** `prepare` makes device nodes (only root makes real ones). */
  devices = prepare.length > 0,
): Promise<RootView> {
  const view = await chooseRootView(trees, devices);
  const all = async (wrap: (command: readonly string[]) => readonly string[], env: Record<string, string>) => {
    for (const command of [...prepare, argv]) await exec(wrap(command), { ...run, env });
  };
  if (view === 'as-is') {
    await all((command) => command, run.env);
  } else if (view === 'user-namespace') {
    // unshare execs the program in place: same process, same group, killed like any other.
    await all((command) => inUserNamespace(command), run.env);
  } else {
    const { cwd, signal, onGroup } = run;
    await withFakeroot({ cwd, ...(signal ? { signal } : {}), ...(onGroup ? { onGroup } : {}) }, (faked) =>
      view === 'fakeroot' ? all((command) => command, { ...faked, ...run.env }) : all((command) => inUserNamespace(command, faked), run.env),
    );
  }
  return view;
}
