import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeAptIndexes } from '../../src/actions/apt-repo.js';
import { writeFiles } from './tmp.js';

/**
 * A local Debian repository for tests, built with dpkg-deb, dpkg-source,
 * dpkg-scanpackages and dpkg-scansources (package dpkg-dev): no network, no
 * signing (apt is told `Trusted: yes` for file: URIs).
 *
 *   <dir>/debian/pool/main/…                   the .debs and source packages
 *   <dir>/debian/dists/<suite>/Release         SHA256 of the indexes below
 *   <dir>/debian/dists/<suite>/main/binary-armhf/Packages(.gz)
 *   <dir>/debian/dists/<suite>/main/source/Sources(.gz)
 */

export interface BinarySpec {
  name: string;
  version: string;
  arch?: string;
  /** Files of the package (path inside the package → content). */
  files: Readonly<Record<string, string>>;
  /** Its Depends field, as Debian writes it ("libfoo1 (>= 1.0), bar | baz"). */
  depends?: string;
}

export interface SourceSpec {
  name: string;
  /** Upstream version (the .orig.tar.gz); the Debian version is `${upstream}-${revision}`. */
  upstream: string;
  revision: string;
  /** Upstream files (path → content). */
  files: Readonly<Record<string, string>>;
  /** Quilt patches under debian/patches, applied in this order (name → unified diff). */
  patches: Readonly<Record<string, string>>;
}

export interface AptRepo {
  /** The directory to pass as a --mirror (holds debian/). */
  mirrorDir: string;
  /** The repository itself: <mirrorDir>/debian. */
  repoDir: string;
  /** sha256 of every pool file by name. */
  sha256: Record<string, string>;
}

const run = (cwd: string, argv: string[]): string =>
  execFileSync(argv[0]!, argv.slice(1), { cwd, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', TZ: 'UTC' }, stdio: ['ignore', 'pipe', 'pipe'] });

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function buildDeb(work: string, pool: string, b: BinarySpec): void {
  const arch = b.arch ?? 'armhf';
  const root = path.join(work, `${b.name}-${b.version.replace(/:/g, '_')}-${arch}`);
  writeFiles(root, b.files);
  writeFiles(root, {
    'DEBIAN/control':
      `Package: ${b.name}\nVersion: ${b.version}\nArchitecture: ${arch}\nMaintainer: Test <test@example.invalid>\n` +
      (b.depends ? `Depends: ${b.depends}\n` : '') +
      'Description: test package\n a package made by the xenbuild tests\n',
  });
  const dir = path.join(pool, b.name[0]!, b.name);
  mkdirSync(dir, { recursive: true });
  run(work, ['dpkg-deb', '--root-owner-group', '-Zgzip', '--build', root, path.join(dir, `${b.name}_${b.version.replace(/^[0-9]+:/, '')}_${arch}.deb`)]);
}

function buildSource(work: string, pool: string, s: SourceSpec): void {
  const version = `${s.upstream}-${s.revision}`;
  const base = path.join(work, `${s.name}-src-${version}`);
  const tree = path.join(base, `${s.name}-${s.upstream}`);
  writeFiles(tree, s.files);
  run(base, ['tar', '--sort=name', '--owner=0', '--group=0', '--mtime=@0', '-czf', `${s.name}_${s.upstream}.orig.tar.gz`, path.basename(tree)]);
  writeFiles(tree, {
    'debian/source/format': '3.0 (quilt)\n',
    'debian/control': `Source: ${s.name}\nMaintainer: Test <test@example.invalid>\nSection: misc\nPriority: optional\nStandards-Version: 4.6.2\n\nPackage: ${s.name}\nArchitecture: all\nDescription: test source\n a source package made by the xenbuild tests\n`,
    'debian/changelog': `${s.name} (${version}) bookworm; urgency=medium\n\n  * Test.\n\n -- Test <test@example.invalid>  Thu, 01 Jan 1970 00:00:00 +0000\n`,
    'debian/patches/series': Object.keys(s.patches).join('\n') + '\n',
    ...Object.fromEntries(Object.entries(s.patches).map(([name, diff]) => [`debian/patches/${name}`, diff])),
  });
  // -b applies the series to the tree (as a check) and writes .dsc and .debian.tar.xz next to it.
  run(base, ['dpkg-source', '-b', path.basename(tree)]);
  const dir = path.join(pool, s.name[0]!, s.name);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(base)) if (/\.(dsc|tar\.gz|tar\.xz)$/.test(f)) copyFileSync(path.join(base, f), path.join(dir, f));
}

/** Build a repository of `binaries` and `sources` in `<dir>/debian`, suite `suite` (default bookworm). */
export function makeAptRepo(dir: string, spec: { binaries: BinarySpec[]; sources: SourceSpec[]; suite?: string }): AptRepo {
  const repoDir = path.join(dir, 'debian');
  const pool = path.join(repoDir, 'pool', 'main');
  const work = path.join(dir, 'build');
  mkdirSync(pool, { recursive: true });
  for (const b of spec.binaries) buildDeb(work, pool, b);
  for (const s of spec.sources) buildSource(work, pool, s);
  writeAptIndexes(repoDir, spec.suite ?? 'bookworm');
  const hashes: Record<string, string> = {};
  for (const letter of readdirSync(pool)) {
    for (const name of readdirSync(path.join(pool, letter))) {
      for (const f of readdirSync(path.join(pool, letter, name))) hashes[f] = sha256(readFileSync(path.join(pool, letter, name, f)));
    }
  }
  return { mirrorDir: dir, repoDir, sha256: hashes };
}
