import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Where the private apt configuration (apt.ts) gets its archives: the host's
 * own apt sources (one-line and deb822), or a --mirror directory; and the
 * control-file format both speak.
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

export const readText = (file: string): string | undefined => {
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
