import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { acquireLock } from '../host/lock.js';
import { TaskFailure } from '../host/failure.js';
import { writeFileAtomicSync } from '../util/fs.js';
import type { ActionContext } from '../engine/action.js';

/**
 * A private apt configuration per architecture under `${cacheDir}/apt/<arch>/`:
 * its own etc/apt, lists, empty dpkg status and download cache, so apt-get and
 * apt-cache run unprivileged and never touch the host's apt. The archive comes
 * from a --mirror directory holding a local repository (DIR/debian/dists) or
 * from the host's own apt sources; it is never hard-coded.
 */

/** Keyring the Debian archive's Release files are signed with (package debian-archive-keyring). */
export const DEBIAN_ARCHIVE_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
/** The architecture Debian sources are looked up with, and the default of debian-binary. */
export const DEFAULT_DEBIAN_ARCH = 'armhf';

/** One archive as the private configuration lists it. */
export interface AptSource {
  uri: string;
  suites: string[];
  components: string[];
  /** Keyring file the host's entry names (Signed-By), when it is a path. */
  signedBy?: string;
}

// ---------------------------------------------------------------- deb822 / control files

/** One paragraph of a control file: lower-cased field name → value (continuation lines joined with "\n"). */
export type Paragraph = Map<string, string>;

/** The paragraphs of a control file (Packages, Sources, .dsc, Release, deb822 .sources); PGP armour is dropped. */
export function parseControl(text: string): Paragraph[] {
  let lines = text.replace(/\r\n/g, '\n').split('\n');
  if (lines[0]?.startsWith('-----BEGIN PGP SIGNED MESSAGE-----')) {
    const body = lines.indexOf('', 1);
    const end = lines.findIndex((l) => l.startsWith('-----BEGIN PGP SIGNATURE-----'));
    lines = lines.slice(body + 1, end < 0 ? undefined : end).map((l) => (l.startsWith('- ') ? l.slice(2) : l));
  }
  const paragraphs: Paragraph[] = [];
  let current: Paragraph | undefined;
  let field: string | undefined;
  for (const line of lines) {
    if (line.startsWith('#')) continue;
    if (line.trim() === '') {
      current = undefined;
      field = undefined;
      continue;
    }
    if (/^\s/.test(line)) {
      if (current && field !== undefined) current.set(field, `${current.get(field)}\n${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    if (!current) paragraphs.push((current = new Map()));
    field = line.slice(0, colon).trim().toLowerCase();
    current.set(field, line.slice(colon + 1).trim());
  }
  return paragraphs;
}

/** The whitespace-separated words of a field ("" when absent). */
const words = (p: Paragraph, field: string): string[] => (p.get(field) ?? '').split(/\s+/).filter((w) => w !== '');

/** A Checksums-Sha256 field as { name, sha256, size } entries. */
export function checksumList(p: Paragraph, field = 'checksums-sha256'): { name: string; sha256: string; size: number }[] {
  const out: { name: string; sha256: string; size: number }[] = [];
  for (const line of (p.get(field) ?? '').split('\n')) {
    const [sha256, size, name] = line.trim().split(/\s+/);
    if (sha256 && size && name && /^[0-9a-f]{64}$/i.test(sha256)) out.push({ name, sha256: sha256.toLowerCase(), size: Number(size) });
  }
  return out;
}

// ---------------------------------------------------------------- the host's sources

interface HostEntry {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  signedBy?: string;
}

const readText = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

/** Entries of a deb822 .sources file (disabled ones left out). */
function parseDeb822Sources(text: string): HostEntry[] {
  return parseControl(text)
    .filter((p) => (p.get('enabled') ?? 'yes').toLowerCase() !== 'no')
    .map((p) => ({
      types: words(p, 'types'),
      uris: words(p, 'uris'),
      suites: words(p, 'suites'),
      components: words(p, 'components'),
      signedBy: p.get('signed-by'),
    }));
}

/** Entries of a one-line sources.list ("deb [opt=val …] uri suite component…"). */
function parseOneLineSources(text: string): HostEntry[] {
  const out: HostEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)(.*)$/.exec(line);
    if (!m || m[3]!.startsWith('cdrom:')) continue;
    const options = new Map(
      (m[2] ?? '')
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map((o) => [o.split('=')[0]!.toLowerCase(), o.slice(o.indexOf('=') + 1)] as const),
    );
    out.push({ types: [m[1]!], uris: [m[3]!], suites: [m[4]!], components: m[5]!.trim().split(/\s+/).filter(Boolean), signedBy: options.get('signed-by') });
  }
  return out;
}

/** Every entry of the apt sources under `rootDir`, in the order apt reads them. */
function hostEntries(rootDir: string): HostEntry[] {
  const etc = path.join(rootDir, 'etc', 'apt');
  const entries = parseOneLineSources(readText(path.join(etc, 'sources.list')) ?? '');
  const partsDir = path.join(etc, 'sources.list.d');
  const parts = existsSync(partsDir) ? readdirSync(partsDir).sort() : [];
  for (const name of parts) {
    const text = /\.(list|sources)$/.test(name) ? readText(path.join(partsDir, name)) : undefined;
    if (text !== undefined) entries.push(...(name.endsWith('.sources') ? parseDeb822Sources(text) : parseOneLineSources(text)));
  }
  return entries;
}

const POCKET = /(-security|-updates|-backports|-backports-sloppy|-proposed-updates|\/updates)$/;

/** Whether an entry is the Debian archive (or its security archive, or a snapshot or mirror of either). */
function isDebianArchive(entry: HostEntry, uri: string): boolean {
  if (entry.signedBy?.includes('debian-archive-keyring')) return true;
  const p = uri.replace(/^[a-z0-9+.-]+:(\/\/[^/]*)?/i, '').replace(/\/+$/, '');
  return /\/debian(-security)?$/.test(p) || /\/archive\/debian(-security)?\/\d{8}T\d{6}Z$/.test(p);
}

/**
 * The Debian archives the host's apt uses, read from `${rootDir}/etc/apt/sources.list`
 * and `sources.list.d/*.list|*.sources` (nothing else is read, nothing written).
 * The first Debian entry with a release suite (bookworm, not bookworm-security)
 * gives the main archive and suite; the host's `<suite>-updates` and
 * `<suite>-security` entries are carried along, grouped by URI. Entries of
 * other vendors, flat repositories, cdroms and disabled stanzas are skipped.
 * Empty when the host names no Debian archive.
 */
export function aptSourcesFromHost(rootDir = '/'): AptSource[] {
  const debian = hostEntries(rootDir)
    .filter((e) => e.types.some((t) => t === 'deb' || t === 'deb-src') && e.uris.length > 0 && !e.suites.some((s) => s.endsWith('/')))
    .map((e) => ({ ...e, uri: e.uris[0]! }))
    .filter((e) => isDebianArchive(e, e.uri));
  const main = debian.find((e) => e.suites.some((s) => !POCKET.test(s)));
  if (!main) return [];
  const codename = main.suites.find((s) => !POCKET.test(s))!;
  const keyring = (e: { signedBy?: string }) =>
    e.signedBy && path.isAbsolute(e.signedBy.trim()) && !/\s/.test(e.signedBy.trim()) ? e.signedBy.trim() : undefined;
  const out: AptSource[] = [];
  const add = (e: (typeof debian)[number], suite: string) => {
    let group = out.find((s) => s.uri === e.uri);
    if (!group) {
      group = { uri: e.uri, suites: [], components: [...new Set(e.components)] };
      const signedBy = keyring(e);
      if (signedBy) group.signedBy = signedBy;
      out.push(group);
    }
    if (!group.suites.includes(suite)) group.suites.push(suite);
  };
  add(main, codename);
  for (const pocket of [`${codename}-updates`, `${codename}-security`, `${codename}/updates`]) {
    for (const e of debian) if (e.suites.includes(pocket)) add(e, pocket);
  }
  return out;
}

/**
 * The local repositories of the first --mirror directory that has one:
 * DIR/debian (and DIR/debian-security) with dists/<suite>/Release; one source
 * per suite, with the components its Release lists. Undefined when none has.
 */
export function aptSourcesFromMirror(mirrorDirs: readonly string[]): AptSource[] | undefined {
  for (const dir of mirrorDirs) {
    const out: AptSource[] = [];
    for (const name of ['debian', 'debian-security']) {
      const repo = path.resolve(dir, name);
      const dists = path.join(repo, 'dists');
      if (!existsSync(dists) || !statSync(dists).isDirectory()) continue;
      for (const suite of readdirSync(dists).sort()) {
        const release = readText(path.join(dists, suite, 'Release')) ?? readText(path.join(dists, suite, 'InRelease'));
        if (release === undefined) continue;
        const components = words(parseControl(release)[0] ?? new Map(), 'components').map((c) => c.replace(/^.*\//, ''));
        out.push({ uri: fileUri(repo), suites: [suite], components: components.length > 0 ? components : ['main'] });
      }
    }
    if (out.length > 0) return out;
  }
  return undefined;
}

/** A file: URI for an absolute path, as apt's deb822 parser accepts it (no spaces). */
function fileUri(dir: string): string {
  return `file:${dir
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/%2B/g, '+').replace(/%3A/gi, ':'))
    .join('/')}`;
}

/** The deb822 sources file of the private configuration: deb and deb-src; file: mirrors trusted, others signed. */
export function renderSources(sources: readonly AptSource[]): string {
  return sources
    .map((s) => {
      const trust = s.uri.startsWith('file:') ? 'Trusted: yes' : `Signed-By: ${s.signedBy ?? DEBIAN_ARCHIVE_KEYRING}`;
      return `Types: deb deb-src\nURIs: ${s.uri}\nSuites: ${s.suites.join(' ')}\nComponents: ${s.components.join(' ')}\n${trust}\n`;
    })
    .join('\n');
}

/** "uri suite suite…; uri suite…", for messages. */
export function describeSources(sources: readonly AptSource[]): string {
  return sources.map((s) => `${s.uri} ${s.suites.join(' ')}`).join('; ');
}

// ---------------------------------------------------------------- the private configuration

/** Where the private configuration of one architecture lives. */
export interface AptPaths {
  root: string;
  etc: string;
  sourcesFile: string;
  state: string;
  lists: string;
  status: string;
  cache: string;
  log: string;
  /** Holds the sources text the lists were last fetched for. */
  stamp: string;
  lock: string;
}

export function aptPaths(cacheDir: string, arch: string): AptPaths {
  const root = path.join(cacheDir, 'apt', arch);
  const etc = path.join(root, 'etc', 'apt');
  const state = path.join(root, 'state');
  return {
    root,
    etc,
    sourcesFile: path.join(etc, 'sources.list.d', 'debian.sources'),
    state,
    lists: path.join(state, 'lists'),
    status: path.join(state, 'status'),
    cache: path.join(root, 'cache'),
    log: path.join(root, 'log'),
    stamp: path.join(state, 'xenbuild-lists-for'),
    lock: path.join(root, 'lock'),
  };
}

/** The -o options that point apt at the private configuration (host apt.conf.d is still read, e.g. for proxies). */
function aptOptions(paths: AptPaths, arch: string): string[] {
  const settings = [
    `Dir::Etc=${paths.etc}`,
    `Dir::State=${paths.state}`,
    `Dir::State::status=${paths.status}`,
    `Dir::Cache=${paths.cache}`,
    `Dir::Log=${paths.log}`,
    `APT::Architecture=${arch}`,
    `APT::Architectures::=${arch}`,
    'Debug::NoLocking=1',
    'Acquire::Languages=none',
  ];
  return settings.flatMap((s) => ['-o', s]);
}

/** argv of apt-get (quiet: no progress bars) or apt-cache with the private options. */
export function aptArgv(paths: AptPaths, arch: string, base: 'apt-get' | 'apt-cache', ...args: string[]): string[] {
  return [base, ...(base === 'apt-get' ? ['-q'] : []), ...aptOptions(paths, arch), ...args];
}

export interface PrivateApt {
  readonly arch: string;
  readonly paths: AptPaths;
  readonly sources: readonly AptSource[];
  /** Full argv of apt-get or apt-cache with the private options. */
  argv(base: 'apt-get' | 'apt-cache', ...args: string[]): string[];
  /** `apt-get update`; fails with 'fetch-failed' (some index not fetched) or 'missing-tool' (no keyring). */
  update(): Promise<void>;
  /** Whether the lists were fetched for the current sources (fetched in part: for ten minutes). */
  listsCurrent(): boolean;
  /** Run `fn` holding this configuration's lock (in this process and against other xenbuilds sharing the cache). */
  locked<T>(fn: () => Promise<T>): Promise<T>;
}

export interface PrivateAptOptions {
  /** Root of the file system whose /etc/apt names the archive (default "/"; tests use a fake tree). */
  hostRoot?: string;
}

/** The archives the private configuration uses: a --mirror repository, else the host's Debian sources. */
export function chooseSources(mirrorDirs: readonly string[], hostRoot = '/'): AptSource[] {
  const sources = aptSourcesFromMirror(mirrorDirs) ?? aptSourcesFromHost(hostRoot);
  if (sources.length === 0) {
    throw new TaskFailure({
      reason: 'fetch-failed',
      url: path.join(hostRoot, 'etc/apt/sources.list.d'),
      message: 'no Debian archive: the host apt sources name none and no --mirror directory holds a debian/dists repository',
    });
  }
  return sources;
}

/**
 * The private apt configuration of `arch`, created or brought up to date under
 * `${ctx.cacheDir}/apt/<arch>/` (sources file, empty dpkg status, directories).
 * Changing the sources (e.g. adding --mirror) marks the lists as out of date.
 */
export function privateApt(ctx: ActionContext, arch: string, opts: PrivateAptOptions = {}): PrivateApt {
  const paths = aptPaths(ctx.cacheDir, arch);
  const sources = chooseSources(ctx.mirrorDirs, opts.hostRoot);
  const text = renderSources(sources);
  for (const dir of ['sources.list.d', 'preferences.d', 'trusted.gpg.d']) mkdirSync(path.join(paths.etc, dir), { recursive: true });
  for (const dir of [path.join(paths.lists, 'partial'), path.join(paths.cache, 'archives', 'partial'), paths.log]) mkdirSync(dir, { recursive: true });
  if (!existsSync(paths.status) || statSync(paths.status).size !== 0) writeFileSync(paths.status, '');
  if (readText(paths.sourcesFile) !== text) {
    rmSync(paths.stamp, { force: true });
    writeFileAtomicSync(paths.sourcesFile, text);
  }
  const argv = (base: 'apt-get' | 'apt-cache', ...args: string[]) => aptArgv(paths, arch, base, ...args);
  return {
    arch,
    paths,
    sources,
    argv,
    listsCurrent: () => listsCurrent(readText(paths.stamp), text),
    locked: (fn) => withLock(ctx, paths.lock, fn),
    async update() {
      const signed = sources.filter((s) => !s.uri.startsWith('file:')).map((s) => s.signedBy ?? DEBIAN_ARCHIVE_KEYRING);
      for (const keyring of new Set(signed)) {
        if (!existsSync(keyring))
          throw new TaskFailure({
            reason: 'missing-tool',
            tool: keyring,
            ...(keyring === DEBIAN_ARCHIVE_KEYRING ? { package: 'debian-archive-keyring' } : {}),
          });
      }
      rmSync(paths.stamp, { force: true });
      ctx.log(`updating the ${arch} package lists of ${describeSources(sources)}`);
      try {
        await ctx.exec(argv('apt-get', 'update'), { cwd: paths.root, env: proxyEnv() });
      } catch (err) {
        if (err instanceof TaskFailure && err.failure.reason === 'exit-non-zero') {
          // What it did fetch is usable: don't fetch again for every package of this build.
          writeFileAtomicSync(paths.stamp, `${PARTIAL}${Date.now()}\n${text}`);
          throw new TaskFailure({
            reason: 'fetch-failed',
            url: describeSources(sources),
            message: 'apt-get update did not fetch every index (see the task log)',
          });
        }
        throw err;
      }
      writeFileAtomicSync(paths.stamp, text);
    },
  };
}

const PARTIAL = 'partial update at ';
/** How long lists that `apt-get update` fetched only in part count as current. */
const PARTIAL_LISTS_TTL_MS = 10 * 60 * 1000;

/** Whether a stamp says the lists were fetched for `sources` (partly fetched ones: only for a while). */
function listsCurrent(stamp: string | undefined, sources: string): boolean {
  if (stamp === sources) return true;
  if (!stamp?.startsWith(PARTIAL)) return false;
  const newline = stamp.indexOf('\n');
  const at = Number(stamp.slice(PARTIAL.length, newline));
  return stamp.slice(newline + 1) === sources && Date.now() - at < PARTIAL_LISTS_TTL_MS;
}

/** The proxy settings of xenbuild's own environment, which the clean task environment would drop. */
export function proxyEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

// ---------------------------------------------------------------- locking

const held = new Map<string, Promise<void>>();

/** Serialise `fn` on `lockFile`: first among this process's tasks, then against other processes (engine/lock.ts). */
async function withLock<T>(ctx: ActionContext, lockFile: string, fn: () => Promise<T>): Promise<T> {
  const before = held.get(lockFile) ?? Promise.resolve();
  let done!: () => void;
  const mine = before.then(() => new Promise<void>((resolve) => (done = resolve)));
  held.set(lockFile, mine);
  try {
    await untilAborted(ctx.signal, before);
    const release = await acquireFileLock(ctx, lockFile);
    try {
      return await fn();
    } finally {
      release();
    }
  } finally {
    // `mine` settles only once `before` has: whoever waits on it waits for both.
    void before.then(() => done());
    void mine.then(() => {
      if (held.get(lockFile) === mine) held.delete(lockFile);
    });
  }
}

async function acquireFileLock(ctx: ActionContext, lockFile: string): Promise<() => void> {
  let told = false;
  for (;;) {
    const r = acquireLock(lockFile, `xenbuild ${ctx.taskId}`);
    if (r.ok) return r.release;
    if (!told) ctx.log(`waiting for ${r.holder.command} (pid ${r.holder.pid} on ${r.holder.host}), which holds ${lockFile}`);
    told = true;
    await untilAborted(ctx.signal, new Promise((resolve) => setTimeout(resolve, 250)));
  }
}

/** Wait for `p`, but fail with 'cancelled' as soon as `signal` aborts. */
function untilAborted<T>(signal: AbortSignal, p: Promise<T>): Promise<T> {
  if (signal.aborted) return Promise.reject(new TaskFailure({ reason: 'cancelled' }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new TaskFailure({ reason: 'cancelled' }));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
