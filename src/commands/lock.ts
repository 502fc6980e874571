import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { debianBinaryCacheDir, debianSourceCacheDir } from '../actions/debian.js';
import { STAMP } from '../actions/debian-fetch.js';
import { LOCK_FILE, LockError, lockDisagreement, lockPath, readLock, renderLock, sourceKey } from '../analysis/lockfile.js';
import type { GraphComponent } from '../model/graph.js';
import type { LockedFile, LockedSource, LockFile } from '../model/lock.js';
import { isRecord, writeFileAtomic } from '../util/fs.js';
import { buildTasks } from './build-tasks.js';
import { analysedBoard, CommandError, type GlobalOptions } from './context.js';
import { EXIT } from './exit.js';

/**
 * `xenbuild lock --board B [--profile P] [--update [COMPONENT…]]`: fetches the
 * board's sources (from the caches when they are there, each verified) and
 * records what they resolved to in xenbuild.lock.json. Entries of other boards
 * and profiles stay. An entry that no longer agrees with its recipe is moved
 * only with --update (naming the component, or none for all): a lock never
 * moves by accident.
 */
export async function lockCommand(names: string[], opts: GlobalOptions & { update?: boolean }): Promise<number> {
  if (opts.frozen) throw new CommandError('xenbuild lock writes the lock: --frozen is for builds that must not change it');
  if (names.length > 0 && !opts.update) throw new CommandError(`components are named only with --update: xenbuild lock --update ${names.join(' ')}`);
  const { settings, graph } = await analysedBoard(opts);
  const known = new Map(graph.components.map((c) => [c.name, c]));
  for (const name of names) {
    if (!known.has(name)) throw new CommandError(`${graph.board} has no component "${name}" (it has ${[...known.keys()].join(', ')})`);
  }
  const updating = new Set(opts.update ? (names.length ? names : [...known.keys()]) : []);
  let lock: LockFile;
  try {
    lock = readLock(settings.root) ?? { lockfileVersion: 1, sources: {} };
  } catch (err) {
    if (err instanceof LockError) throw new CommandError(err.message);
    throw err;
  }
  // Debian sources, fetched and verified: their files are then in the download cache. (A git commit or a
  // tarball's sha256 is locked as the recipe pins it; the build's fetch checks it.)
  const debian = graph.components.filter((c) => cacheDirsOf(c, graph.cacheDir).length > 0);
  const fetches = debian.map((c) => `${c.name}:fetch`);
  if (fetches.length) {
    const report = await buildTasks(graph, settings, opts, 'xenbuild lock', { targets: fetches });
    if (!report.ok) return EXIT.failed;
  }
  // A fetch that was fresh says nothing of the download cache, which may have been emptied since: fetch those again.
  const gone = debian.filter((c) => cacheDirsOf(c, graph.cacheDir).some((dir) => !existsSync(path.join(dir, STAMP))));
  if (gone.length) {
    const again = gone.map((c) => `${c.name}:fetch`);
    const rerun = await buildTasks(graph, settings, opts, 'xenbuild lock', { targets: again, force: again });
    if (!rerun.ok) return EXIT.failed;
  }

  const refused: string[] = [];
  const lines: string[] = [];
  for (const c of graph.components) {
    if (!c.source) continue;
    const key = sourceKey(c.recipe, c.version);
    const had = lock.sources[key];
    const disagrees = had ? lockDisagreement(c.source, had) : undefined;
    if (had && !updating.has(c.name)) {
      if (disagrees) refused.push(`${key} (component ${c.name}): ${disagrees}`);
      else lines.push(`kept    ${key}`);
      continue;
    }
    const now = await resolved(c, graph.cacheDir);
    lock.sources[key] = now;
    lines.push(`${had ? (renderLock(wrap(had)) === renderLock(wrap(now)) ? 'kept   ' : 'updated') : 'locked '} ${key}: ${describe(now)}`);
  }
  if (refused.length) {
    throw new CommandError(
      `${LOCK_FILE} disagrees with the recipes, and was left as it is:\n  ${refused.join('\n  ')}\n` +
        `  hint: move these entries on purpose with xenbuild lock --update COMPONENT --board ${graph.board}`,
      EXIT.failed,
    );
  }
  await writeFileAtomic(lockPath(settings.root), renderLock(lock));
  process.stdout.write(`${lines.join('\n')}\nwrote ${path.relative(process.cwd(), lockPath(settings.root)) || LOCK_FILE}\n`);
  return EXIT.ok;
}

const wrap = (source: LockedSource): LockFile => ({ lockfileVersion: 1, sources: { s: source } });

function describe(s: LockedSource): string {
  if ('git' in s) return `${s.git} ${s.commit.slice(0, 12)}`;
  if ('tarball' in s) return `${s.tarball} sha256 ${s.sha256.slice(0, 12)}`;
  const n = s.files.length;
  if ('debian-source' in s) return `Debian source ${s['debian-source']} ${s.version}, ${n} file${n === 1 ? '' : 's'}`;
  if ('debian-packages' in s) return `${n} Debian packages (${s.arch})`;
  return `Debian package ${s['debian-binary']}:${s.arch} ${s.version}`;
}

/** Where the download cache keeps a Debian source's files (one directory per package); none for git and tarballs (the recipe pins them whole). */
function cacheDirsOf(c: GraphComponent, cacheDir: string): string[] {
  const source = c.source;
  if (!source || 'git' in source || 'tarball' in source) return [];
  if ('debian-source' in source) return [debianSourceCacheDir(cacheDir, source['debian-source'], source.version)];
  const arch = source.arch ?? 'armhf';
  if ('debian-packages' in source) return Object.entries(source['debian-packages']).map(([pkg, version]) => debianBinaryCacheDir(cacheDir, pkg, version, arch));
  return [debianBinaryCacheDir(cacheDir, source['debian-binary'], source.version, arch)];
}

/** What a fetched source resolved to: the recipe's pins, and for Debian each file as the cache holds it (verified by the fetch). */
async function resolved(c: GraphComponent, cacheDir: string): Promise<LockedSource> {
  const source = c.source!;
  if ('git' in source) return { git: source.git, ...(source.ref !== undefined ? { ref: source.ref } : {}), commit: source.commit };
  if ('tarball' in source) return { tarball: source.tarball, sha256: source.sha256 };
  if ('debian-packages' in source) {
    // Each package's .deb, as its own cache directory holds it.
    const arch = source.arch ?? 'armhf';
    const files: LockedFile[] = [];
    for (const [pkg, version] of Object.entries(source['debian-packages'])) {
      const dir = debianBinaryCacheDir(cacheDir, pkg, version, arch);
      files.push(...(await lockedFiles(dir, [String(readStamp(dir).file)])));
    }
    return { 'debian-packages': source['debian-packages'], arch, files: files.sort((a, b) => (a.name < b.name ? -1 : 1)) };
  }
  const dir = cacheDirsOf(c, cacheDir)[0]!;
  if ('debian-source' in source) {
    const stamp = readStamp(dir);
    const names = Array.isArray(stamp.files) ? stamp.files.map((f) => (isRecord(f) ? String(f.name) : '')) : [];
    return { 'debian-source': source['debian-source'], version: source.version, dsc: String(stamp.dsc), files: await lockedFiles(dir, names) };
  }
  const arch = source.arch ?? 'armhf';
  const stamp = readStamp(dir);
  return { 'debian-binary': source['debian-binary'], version: source.version, arch, files: await lockedFiles(dir, [String(stamp.file)]) };
}

function readStamp(dir: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(readFileSync(path.join(dir, STAMP), 'utf8'));
    if (isRecord(value)) return value;
  } catch {
    // below
  }
  throw new CommandError(`${dir} holds no download xenbuild made (its fetch just succeeded): run xenbuild lock again`, EXIT.failed);
}

/** Each file's name, size, sha256 and sha1 (the snapshot archive's address), read once. */
async function lockedFiles(dir: string, names: string[]): Promise<LockedFile[]> {
  const files: LockedFile[] = [];
  for (const name of [...names].sort()) {
    if (!name || path.basename(name) !== name) throw new CommandError(`${dir}: its stamp names a file "${name}" outside it`, EXIT.failed);
    const sha256 = createHash('sha256');
    const sha1 = createHash('sha1');
    let size = 0;
    for await (const chunk of createReadStream(path.join(dir, name)) as AsyncIterable<Buffer>) {
      sha256.update(chunk);
      sha1.update(chunk);
      size += chunk.length;
    }
    files.push({ name, size, sha256: sha256.digest('hex'), sha1: sha1.digest('hex') });
  }
  return files;
}
