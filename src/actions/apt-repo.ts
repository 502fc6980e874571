/**
 * A local Debian repository in the layout apt reads through a `file:` URI,
 * indexed with dpkg-dev's own scanners (no signing: the private apt
 * configuration trusts file: repositories):
 *
 *   <repo>/pool/main/…                               .debs and source packages
 *   <repo>/dists/<suite>/Release                     the SHA256 of the indexes below
 *   <repo>/dists/<suite>/main/binary-<arch>/Packages(.gz)
 *   <repo>/dists/<suite>/main/source/Sources(.gz)
 *
 * `xenbuild mirror` writes one for the Debian packages a board needs, and the
 * tests build theirs with it.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function scan(repo: string, argv: string[]): string {
  return execFileSync(argv[0]!, argv.slice(1), {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'C', TZ: 'UTC' },
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
  });
}

/** (Re)writes `dists/<suite>` for everything in `<repo>/pool`: the indexes of each architecture, the sources, and a Release. */
export function writeAptIndexes(repo: string, suite: string, archs: readonly string[] = ['armhf']): void {
  const dists = path.join(repo, 'dists', suite);
  const indexes: Record<string, string> = {};
  for (const arch of archs) indexes[`main/binary-${arch}/Packages`] = scan(repo, ['dpkg-scanpackages', '--multiversion', '--arch', arch, 'pool']);
  indexes['main/source/Sources'] = scan(repo, ['dpkg-scansources', 'pool']);
  const lines: string[] = [];
  for (const [name, text] of Object.entries(indexes)) {
    mkdirSync(path.dirname(path.join(dists, name)), { recursive: true });
    for (const [file, data] of [
      [name, Buffer.from(text)],
      [`${name}.gz`, gzipSync(text)],
    ] as const) {
      writeFileSync(path.join(dists, file), data);
      lines.push(` ${sha256(data)} ${data.length} ${file}`);
    }
  }
  const release = [
    'Origin: xenbuild',
    'Label: xenbuild',
    `Suite: ${suite}`,
    `Codename: ${suite}`,
    'Date: Thu, 01 Jan 1970 00:00:00 UTC',
    `Architectures: ${archs.join(' ')}`,
    'Components: main',
    'SHA256:',
    ...lines,
  ];
  writeFileSync(path.join(dists, 'Release'), release.join('\n') + '\n');
}

/** The pool directory of a package, as Debian's archive lays it out: pool/main/x/xen, pool/main/libf/libfoo. */
export function poolDir(repo: string, pkg: string): string {
  return path.join(repo, 'pool', 'main', pkg.startsWith('lib') ? pkg.slice(0, 4) : pkg[0]!, pkg);
}
