import type { ActionSpec, FileRef } from '../model/graph.js';
import type { LockedSource } from '../model/lock.js';
import type { Recipe, Scalar, Task } from '../model/schema.js';
import { lockedPin } from './lockfile.js';
import { JOBS_PLACEHOLDER } from './vars.js';
import type { PathKey } from './yaml-file.js';

/** The actions of tasks: what a recipe task's action key means, and how a source is fetched. */

export type Str = (v: Scalar, at: PathKey[]) => { value: string; symbolic: string };

interface ActionParts {
  spec: ActionSpec;
  /** The spec with machine paths symbolic, for the fingerprint. */
  symbolic: unknown;
  title: string;
  tools: string[];
  /** Project files the action reads besides the task's declared inputs. */
  inputs: FileRef[];
}

interface ActionHelpers {
  fail(at: PathKey[], message: string): void;
  addOutput(out: string, at: PathKey[]): FileRef | undefined;
  addInput(entry: string, at: PathKey[]): FileRef | undefined;
}

/** A recipe task's action, resolved: one case per action key of the task schema. */
export function taskAction(t: Task, path: PathKey[], str: Str, helpers: ActionHelpers): ActionParts | undefined {
  if ('run' in t || 'make' in t) {
    // make takes its jobs from the run's jobserver (MAKEFLAGS), not from -j.
    const argv =
      'run' in t
        ? t.run.map((a, i) => str(a, [...path, 'run', i]))
        : [{ value: 'make', symbolic: 'make' }, ...t.make.map((a, i) => str(a, [...path, 'make', i]))];
    const jobs = 'run' in t ? (t.jobs ?? 'one') : 'make';
    const values = argv.map((a) => a.value);
    return {
      spec: { kind: 'run', argv: values, jobs },
      symbolic: { kind: 'run', argv: argv.map((a) => a.symbolic), jobs },
      title: values.map((a) => a.replaceAll(JOBS_PLACEHOLDER, 'N')).join(' '),
      tools: toolOf(values[0]),
      inputs: [],
    };
  }
  if ('kconfig' in t) return kconfigAction(t.kconfig, [...path, 'kconfig'], str, helpers);
  const b = t['busybox-root'];
  const at = [...path, 'busybox-root'];
  const formats = (['cpio', 'tar'] as const).filter((k) => b[k] !== undefined);
  if (formats.length !== 1) {
    helpers.fail(at, `busybox-root needs exactly one output: cpio (an initramfs) or tar (a root filesystem)`);
    return undefined;
  }
  const format = formats[0]!;
  const output = helpers.addOutput(b[format]!, [...at, format]);
  const init = helpers.addInput(b.init, [...at, 'init']);
  if (!output || !init) return undefined;
  const busybox = str(b.busybox, [...at, 'busybox']);
  const modules = b.modules ? { dir: str(b.modules.dir, [...at, 'modules', 'dir']), load: b.modules.load } : undefined;
  const trees = (b.trees ?? []).map((t, i) => str(t, [...at, 'trees', i]));
  const files = (b.files ?? []).map((f, i) => ({ from: str(f.from, [...at, 'files', i, 'from']), to: f.to }));
  for (const [i, f] of files.entries()) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9._+-]*(\/[A-Za-z0-9_][A-Za-z0-9._+-]*)*$/.test(f.to)) {
      helpers.fail([...at, 'files', i, 'to'], `"${f.to}" is not a relative path inside the root (no "..", no leading "/")`);
      return undefined;
    }
  }
  const extra = (pick: 'value' | 'symbolic') => ({
    ...(trees.length ? { trees: trees.map((t) => t[pick]) } : {}),
    ...(files.length ? { files: files.map((f) => ({ from: f.from[pick], to: f.to })) } : {}),
  });
  return {
    spec: {
      kind: 'busybox-root',
      busybox: busybox.value,
      init,
      format,
      output,
      ...(modules ? { modules: { dir: modules.dir.value, load: modules.load } } : {}),
      ...extra('value'),
    },
    symbolic: {
      kind: 'busybox-root',
      busybox: busybox.symbolic,
      init: init.name,
      format,
      output: output.name,
      ...(modules ? { modules: { dir: modules.dir.symbolic, load: modules.load } } : {}),
      ...extra('symbolic'),
    },
    title: `${format === 'cpio' ? 'initramfs' : 'root filesystem'} from busybox${modules ? ` with ${modules.load.join(', ')}` : ''}`,
    tools: format === 'cpio' ? ['cpio', 'gzip', ...(modules ? ['modinfo'] : [])] : modules ? ['modinfo'] : [],
    inputs: [init],
  };
}

function toolOf(program: string | undefined): string[] {
  if (!program || program.includes('/')) return [];
  return [program];
}

/**
 * The fetch action for a source. A Debian source that xenbuild.lock.json
 * locks is pinned to its files (the .dsc's or the .deb's sha256), and can be
 * fetched from Debian's snapshot archive when the archive no longer has it.
 */
export function fetchAction(source: NonNullable<Recipe['source']>, locked?: LockedSource, snapshot?: string): ActionSpec {
  if ('git' in source) return { kind: 'fetch-git', source };
  if ('tarball' in source) return { kind: 'fetch-tarball', source };
  const pin = locked ? lockedPin(locked) : undefined;
  const files = locked && 'files' in locked ? { locked: locked.files, ...(snapshot !== undefined ? { snapshot } : {}) } : {};
  if ('debian-source' in source) return { kind: 'fetch-debian-source', source: { ...source, ...(pin ? { sha256: pin } : {}) }, ...files };
  // A set's pins are per package: the kind finds each .deb's in the locked files.
  if ('debian-packages' in source) return { kind: 'fetch-debian-packages', source, ...files };
  return { kind: 'fetch-debian-binary', source: { ...source, ...(pin ? { sha256: pin } : {}) }, ...files };
}

export function describeSource(source: NonNullable<Recipe['source']>): string {
  if ('git' in source) return `${source.git} ${source.commit.slice(0, 12)}`;
  if ('tarball' in source) return source.tarball;
  if ('debian-source' in source) return `Debian source ${source['debian-source']} ${source.version}`;
  if ('debian-packages' in source) return `${Object.keys(source['debian-packages']).length} Debian packages (${source.arch ?? 'armhf'})`;
  return `Debian package ${source['debian-binary']}:${source.arch ?? 'armhf'} ${source.version}`;
}

export function fetchTools(action: ActionSpec): string[] {
  switch (action.kind) {
    case 'fetch-git':
      return ['git'];
    case 'fetch-tarball':
      return ['git', 'tar'];
    case 'fetch-debian-source':
      return ['git', 'apt-get', 'dpkg-source'];
    case 'fetch-debian-binary':
    case 'fetch-debian-packages':
      return ['git', 'apt-get', 'dpkg-deb'];
    default:
      return [];
  }
}

/** `kconfig:`: make defconfig, the fragments (project files, hashed as inputs), make olddefconfig. */
function kconfigAction(k: Extract<Task, { kconfig: unknown }>['kconfig'], at: PathKey[], str: Str, helpers: ActionHelpers): ActionParts | undefined {
  const make = (args: Scalar[], key: string) => [{ value: 'make', symbolic: 'make' }, ...args.map((a, i) => str(a, [...at, key, i]))];
  const defconfig = make(k.defconfig, 'defconfig');
  const olddefconfig = make(k.olddefconfig, 'olddefconfig');
  const config = helpers.addOutput(String(k.config), [...at, 'config']);
  const fragments: FileRef[] = [];
  let missing = false;
  k.fragments.forEach((f, i) => {
    const entry = str(f, [...at, 'fragments', i]).value;
    if (entry === '') return;
    const ref = helpers.addInput(entry, [...at, 'fragments', i]);
    if (ref) fragments.push(ref);
    else missing = true;
  });
  if (!config || missing) return undefined;
  return {
    spec: { kind: 'kconfig', config: config.path, fragments, defconfig: defconfig.map((a) => a.value), olddefconfig: olddefconfig.map((a) => a.value) },
    symbolic: {
      kind: 'kconfig',
      config: config.name,
      fragments: fragments.map((f) => f.name),
      defconfig: defconfig.map((a) => a.symbolic),
      olddefconfig: olddefconfig.map((a) => a.symbolic),
    },
    title: `${defconfig.map((a) => a.value).join(' ')}${fragments.length ? ` + ${fragments.map((f) => f.name).join(', ')}` : ''}, olddefconfig`,
    tools: ['make'],
    inputs: fragments,
  };
}
