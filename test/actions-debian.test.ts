import { cpSync, existsSync, lstatSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aptSourcesFromHost, aptSourcesFromMirror, DEBIAN_ARCHIVE_KEYRING, renderSources } from '../src/actions/apt-sources.js';
import { privateApt } from '../src/actions/apt.js';
import {
  availableVersions,
  debianBinaryCacheDir,
  debianSourceCacheDir,
  describeDebianBinary,
  describeDebianSource,
  fetchDebianBinary,
  fetchDebianSource,
} from '../src/actions/debian.js';
import { fetchDebianPackages } from '../src/actions/debian-packages.js';
import { makeAptRepo, type AptRepo } from './util/apt-repo.js';
import { failureOf, makeContext, makeTempDir, removeTempDirs, writeFiles } from './util/tmp.js';

/**
 * Host paths a leaking private configuration would change. (/var/lib/apt and
 * /var/cache/apt are checked by content instead: a package installed on the
 * host meanwhile legitimately changes their mtimes.)
 */
const HOST_APT = ['/etc/apt', '/etc/apt/sources.list.d', '/var/lib/apt/lists'].filter((p) => existsSync(p));
const mtimes = () => Object.fromEntries(HOST_APT.map((p) => [p, statSync(p).mtimeMs]));
const hostBefore = mtimes();

const PATCH = '--- a/greeting.txt\n+++ b/greeting.txt\n@@ -1 +1 @@\n-hello\n+hello, patched by Debian\n';

let repo: AptRepo;
beforeAll(() => {
  repo = makeAptRepo(makeTempDir('xenbuild-apt-repo-'), {
    binaries: [
      { name: 'hello-static', version: '1:1.0-1', files: { 'bin/hello': 'hello 1.0\n', 'usr/share/doc/hello-static/README': 'readme\n' } },
      { name: 'hello-static', version: '1:1.1-1', files: { 'bin/hello': 'hello 1.1\n' } },
      { name: 'libgreet1', version: '1.0-1', files: { 'usr/lib/libgreet.so.1': 'a library\n' } },
      { name: 'greeter', version: '2.0-1', depends: 'libgreet1 (>= 1.0), libc6 (>= 2.34), python3 | python3-minimal', files: { 'usr/bin/greeter': 'greet\n' } },
    ],
    sources: [
      { name: 'demo', upstream: '1.0', revision: '1', files: { 'greeting.txt': 'hello\n', Makefile: 'all:\n' }, patches: { 'greet.patch': PATCH } },
      { name: 'demo', upstream: '1.0', revision: '2', files: { 'greeting.txt': 'hello\n', Makefile: 'all:\n' }, patches: { 'greet.patch': PATCH } },
    ],
  });
});
afterAll(removeTempDirs);

/** A fresh board/cache layout using `mirrorDirs`; `hostRoot` is an empty fake root unless given. */
function setup(mirrorDirs: string[], hostRoot?: string) {
  const root = makeTempDir();
  const srcDir = path.join(root, 'board', 'src', 'pkg');
  const cacheDir = path.join(root, 'cache');
  const opts = { hostRoot: hostRoot ?? path.join(root, 'no-host') };
  return { root, srcDir, cacheDir, opts, ctx: makeContext({ srcDir, cacheDir, mirrorDirs }) };
}

/** A fake "/" whose etc/apt holds `files` (relative to etc/apt). */
function fakeHost(files: Record<string, string>): string {
  const root = makeTempDir('xenbuild-fake-host-');
  writeFiles(path.join(root, 'etc', 'apt'), files);
  return root;
}

describe('aptSourcesFromHost', () => {
  it('reads deb822 .sources: the release suite and its -updates and -security pockets, other vendors skipped', () => {
    const root = fakeHost({
      'sources.list.d/debian.sources': [
        'Types: deb',
        '# http://snapshot.example.invalid/archive/debian/20250520T000000Z',
        'URIs: http://archive.example.invalid/debian',
        'Suites: bookworm bookworm-updates',
        'Components: main',
        `Signed-By: ${DEBIAN_ARCHIVE_KEYRING}`,
        '',
        'Types: deb',
        'URIs: http://archive.example.invalid/debian-security',
        'Suites: bookworm-security',
        'Components: main',
        `Signed-By: ${DEBIAN_ARCHIVE_KEYRING}`,
        '',
        'Enabled: no',
        'Types: deb',
        'URIs: http://archive.example.invalid/debian',
        'Suites: trixie',
        'Components: main',
        '',
      ].join('\n'),
      'sources.list.d/nodesource.sources':
        'Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\nComponents: main\nSigned-By: /usr/share/keyrings/nodesource.gpg\n',
      'sources.list.d/aaa.sources.disabled-by-farm': 'Types: deb\nURIs: http://example.invalid/debian\nSuites: sid\nComponents: main\n',
    });
    expect(aptSourcesFromHost(root)).toEqual([
      { uri: 'http://archive.example.invalid/debian', suites: ['bookworm', 'bookworm-updates'], components: ['main'], signedBy: DEBIAN_ARCHIVE_KEYRING },
      { uri: 'http://archive.example.invalid/debian-security', suites: ['bookworm-security'], components: ['main'], signedBy: DEBIAN_ARCHIVE_KEYRING },
    ]);
  });

  it('reads one-line sources.list: options, deb-src, cdrom and comments; the release suite wins even when security comes first', () => {
    const root = fakeHost({
      'sources.list': [
        '# deb cdrom:[Debian GNU/Linux 12.0.0 _Bookworm_ - Official amd64 DVD Binary-1 20230610-10:23]/ bookworm main',
        'deb cdrom:[Debian GNU/Linux 12.0.0 _Bookworm_ - Official amd64 DVD Binary-1 20230610-10:23]/ bookworm contrib main',
        'deb http://security.example.invalid/debian-security bookworm-security main contrib',
        'deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://ftp.de.example.invalid/debian/ bookworm main contrib # a comment',
        'deb-src http://ftp.de.example.invalid/debian/ bookworm main contrib',
        'deb http://ftp.de.example.invalid/debian/ bookworm-updates main contrib',
        'deb http://ftp.de.example.invalid/debian/ bookworm-backports main',
        '',
      ].join('\n'),
      'sources.list.d/google-cloud-sdk.list': 'deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n',
      'sources.list.d/local.list': 'deb [trusted=yes] file:/srv/repo ./\n',
    });
    expect(aptSourcesFromHost(root)).toEqual([
      {
        uri: 'http://ftp.de.example.invalid/debian/',
        suites: ['bookworm', 'bookworm-updates'],
        components: ['main', 'contrib'],
        signedBy: DEBIAN_ARCHIVE_KEYRING,
      },
      { uri: 'http://security.example.invalid/debian-security', suites: ['bookworm-security'], components: ['main', 'contrib'] },
    ]);
  });

  it('is empty when the host names no Debian archive', () => {
    expect(aptSourcesFromHost(fakeHost({ 'sources.list.d/x.list': 'deb http://archive.ubuntu.com/ubuntu jammy main\n' }))).toEqual([]);
    expect(aptSourcesFromHost(makeTempDir())).toEqual([]);
  });
});

describe('private apt configuration', () => {
  it('finds a --mirror repository, trusts only file: URIs, and lives entirely in the cache', () => {
    expect(aptSourcesFromMirror([makeTempDir(), repo.mirrorDir])).toEqual([{ uri: `file:${repo.repoDir}`, suites: ['bookworm'], components: ['main'] }]);
    expect(aptSourcesFromMirror([makeTempDir()])).toBeUndefined();
    const text = renderSources([
      { uri: 'http://archive.example.invalid/debian', suites: ['bookworm', 'bookworm-updates'], components: ['main'] },
      { uri: 'file:/srv/debian', suites: ['bookworm'], components: ['main'] },
    ]);
    expect(text).toBe(
      'Types: deb deb-src\nURIs: http://archive.example.invalid/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n' +
        'Types: deb deb-src\nURIs: file:/srv/debian\nSuites: bookworm\nComponents: main\nTrusted: yes\n',
    );

    const { ctx, cacheDir, opts } = setup([repo.mirrorDir]);
    const apt = privateApt(ctx, 'armhf', opts);
    const dir = path.join(cacheDir, 'apt', 'armhf');
    expect(readFileSync(path.join(dir, 'etc/apt/sources.list.d/debian.sources'), 'utf8')).toContain(`URIs: file:${repo.repoDir}\n`);
    expect(statSync(path.join(dir, 'state/status')).size).toBe(0);
    const argv = apt.argv('apt-cache', 'policy');
    expect(argv.slice(0, 1)).toEqual(['apt-cache']);
    for (const opt of [
      `Dir::Etc=${dir}/etc/apt`,
      `Dir::State=${dir}/state`,
      `Dir::State::status=${dir}/state/status`,
      `Dir::Cache=${dir}/cache`,
      'APT::Architecture=armhf',
      'APT::Architectures::=armhf',
      'Debug::NoLocking=1',
    ]) {
      expect(argv).toContain(opt);
    }
    expect(apt.listsCurrent()).toBe(false);
  });

  it('fails clearly when there is neither a mirror nor a Debian host source', async () => {
    const { ctx, opts } = setup([]);
    const f = await failureOf(fetchDebianBinary(ctx, { 'debian-binary': 'hello-static', version: '1:1.0-1' }, opts));
    expect(f).toMatchObject({ reason: 'fetch-failed' });
    expect(f.reason === 'fetch-failed' && f.message).toMatch(/no Debian archive/);
  });
});

describe('debian-packages', () => {
  const SET = { 'debian-packages': { greeter: '2.0-1', libgreet1: '1.0-1' } };

  it('unpacks every package of the set into one tree, and names what the set leaves out', async () => {
    const { ctx, srcDir, opts } = setup([repo.mirrorDir]);
    const lines: string[] = [];
    const r = await fetchDebianPackages({ ...ctx, log: (l) => lines.push(l) }, SET, undefined, opts);
    expect(readFileSync(path.join(srcDir, 'usr/bin/greeter'), 'utf8')).toBe('greet\n');
    expect(readFileSync(path.join(srcDir, 'usr/lib/libgreet.so.1'), 'utf8')).toBe('a library\n');
    expect(r).toEqual({
      arch: 'armhf',
      debs: {
        greeter: { file: 'greeter_2.0-1_armhf.deb', sha256: repo.sha256['greeter_2.0-1_armhf.deb'] },
        libgreet1: { file: 'libgreet1_1.0-1_armhf.deb', sha256: repo.sha256['libgreet1_1.0-1_armhf.deb'] },
      },
    });
    // libgreet1 is in the set; libc6 and the python3 alternatives are not.
    expect(lines).toContain('not in the set, so not in the tree (what needs them may not run): libc6, python3 | python3-minimal');
  });

  it("checks each .deb against the lock's pin for it, and refuses a set member the archive lacks", async () => {
    const { ctx, opts } = setup([repo.mirrorDir]);
    const locked = [{ name: 'libgreet1_1.0-1_armhf.deb', size: 1, sha256: 'f'.repeat(64), sha1: 'f'.repeat(40) }];
    const f = await failureOf(fetchDebianPackages(ctx, SET, locked, opts));
    expect(f).toMatchObject({ reason: 'checksum-mismatch', expected: 'f'.repeat(64), actual: repo.sha256['libgreet1_1.0-1_armhf.deb'] });
    const none = await failureOf(fetchDebianPackages(ctx, { 'debian-packages': { greeter: '2.0-1', libgone1: '1.0-1' } }, undefined, opts));
    expect(none.reason === 'fetch-failed' && none.message).toMatch(/has no binary package libgone1$/);
  });
});

describe('debian-binary', () => {
  it('downloads, verifies and unpacks a .deb into srcDir', async () => {
    const { ctx, srcDir, cacheDir, opts } = setup([repo.mirrorDir]);
    const result = await fetchDebianBinary(ctx, { 'debian-binary': 'hello-static', version: '1:1.0-1', arch: 'armhf' }, opts);
    expect(readFileSync(path.join(srcDir, 'bin/hello'), 'utf8')).toBe('hello 1.0\n');
    expect(readFileSync(path.join(srcDir, 'usr/share/doc/hello-static/README'), 'utf8')).toBe('readme\n');
    expect(result).toEqual({
      version: '1:1.0-1',
      arch: 'armhf',
      file: 'hello-static_1%3a1.0-1_armhf.deb',
      sha256: repo.sha256['hello-static_1.0-1_armhf.deb'],
    });
    const cached = debianBinaryCacheDir(cacheDir, 'hello-static', '1:1.0-1', 'armhf');
    expect(lstatSync(path.join(cached, result.file)).isFile()).toBe(true);
    expect(readdirSync(path.dirname(srcDir))).toEqual(['pkg']); // no unpack leftovers
  });

  it('names the versions the archive has when the pinned one is missing', async () => {
    const { ctx, opts } = setup([repo.mirrorDir]);
    const f = await failureOf(fetchDebianBinary(ctx, { 'debian-binary': 'hello-static', version: '1:1.35.0-4+b3' }, opts));
    expect(f).toMatchObject({ reason: 'fetch-failed', url: 'hello-static:armhf=1:1.35.0-4+b3 (Debian package)' });
    const message = f.reason === 'fetch-failed' ? f.message : '';
    expect(message).toContain('version 1:1.35.0-4+b3 is not available');
    expect(message).toContain(`file:${repo.repoDir} bookworm`);
    expect(message).toMatch(/has (1:1\.1-1, 1:1\.0-1|1:1\.0-1, 1:1\.1-1)$/);

    const none = await failureOf(fetchDebianBinary(ctx, { 'debian-binary': 'no-such-package', version: '1.0-1' }, opts));
    expect(none.reason === 'fetch-failed' && none.message).toMatch(/has no binary package no-such-package$/);
  });

  it('uses the cache without the archive, and fetches a damaged cached .deb again', async () => {
    const mirror = makeTempDir('xenbuild-apt-mirror-');
    cpSync(repo.repoDir, path.join(mirror, 'debian'), { recursive: true });
    const { ctx, root, cacheDir, opts } = setup([mirror]);
    const src = { 'debian-binary': 'hello-static', version: '1:1.1-1' };
    await fetchDebianBinary(ctx, src, opts);
    const cached = path.join(debianBinaryCacheDir(cacheDir, 'hello-static', '1:1.1-1', 'armhf'), 'hello-static_1%3a1.1-1_armhf.deb');

    writeFileSync(cached, 'garbage');
    await fetchDebianBinary(ctx, src, opts);
    expect(ctx.lines.some((l) => l.includes('is damaged'))).toBe(true);

    rmSync(mirror, { recursive: true, force: true });
    const again = makeContext({ srcDir: path.join(root, 'board2', 'src', 'pkg'), cacheDir, mirrorDirs: [mirror] });
    const result = await fetchDebianBinary(again, src, opts); // no mirror, no host archive: the cache only
    expect(readFileSync(path.join(again.srcDir, 'bin/hello'), 'utf8')).toBe('hello 1.1\n');
    expect(result.sha256).toBe(repo.sha256['hello-static_1.1-1_armhf.deb']);
    expect(again.lines.some((l) => l.startsWith('using hello-static 1:1.1-1'))).toBe(true);
  });

  it('checks an optional sha256 pin', async () => {
    const { ctx, opts } = setup([repo.mirrorDir]);
    const f = await failureOf(fetchDebianBinary(ctx, { 'debian-binary': 'hello-static', version: '1:1.0-1', sha256: '0'.repeat(64) }, opts));
    expect(f).toMatchObject({ reason: 'checksum-mismatch', expected: '0'.repeat(64), actual: repo.sha256['hello-static_1.0-1_armhf.deb'] });
  });

  it('takes the archive from the host apt sources (a file: archive there is trusted)', async () => {
    const host = fakeHost({ 'sources.list': `deb file:${repo.repoDir} bookworm main\n` });
    const { ctx, srcDir, opts } = setup([], host);
    await fetchDebianBinary(ctx, { 'debian-binary': 'hello-static', version: '1:1.0-1' }, opts);
    expect(readFileSync(path.join(srcDir, 'bin/hello'), 'utf8')).toBe('hello 1.0\n');
    expect(await availableVersions(ctx, 'hello-static', 'binary', opts)).toEqual(expect.arrayContaining(['1:1.0-1', '1:1.1-1']));
  });
});

describe('debian-source', () => {
  it('downloads, verifies and unpacks a source package with its Debian patches applied', async () => {
    const { ctx, srcDir, cacheDir, opts } = setup([repo.mirrorDir]);
    const result = await fetchDebianSource(ctx, { 'debian-source': 'demo', version: '1.0-1' }, opts);
    expect(readFileSync(path.join(srcDir, 'greeting.txt'), 'utf8')).toBe('hello, patched by Debian\n');
    expect(readFileSync(path.join(srcDir, 'debian/patches/series'), 'utf8')).toBe('greet.patch\n');
    expect(result.dsc).toBe('demo_1.0-1.dsc');
    expect(result.sha256).toBe(repo.sha256['demo_1.0-1.dsc']);
    expect(result.files.map((f) => f.name).sort()).toEqual(['demo_1.0-1.debian.tar.xz', 'demo_1.0-1.dsc', 'demo_1.0.orig.tar.gz']);
    // apt-get source links file: mirrors' files into place; the cache must hold real copies.
    const cached = debianSourceCacheDir(cacheDir, 'demo', '1.0-1');
    for (const f of result.files) expect(lstatSync(path.join(cached, f.name)).isFile()).toBe(true);
    expect(readdirSync(path.dirname(srcDir))).toEqual(['pkg']);
  });

  it('works from the cache once the archive is gone, replacing the old tree', async () => {
    const mirror = makeTempDir('xenbuild-apt-mirror-');
    cpSync(repo.repoDir, path.join(mirror, 'debian'), { recursive: true });
    const { ctx, srcDir, opts } = setup([mirror]);
    await fetchDebianSource(ctx, { 'debian-source': 'demo', version: '1.0-2' }, opts);
    writeFileSync(path.join(srcDir, 'stale.o'), 'old');
    rmSync(mirror, { recursive: true, force: true });
    await fetchDebianSource(ctx, { 'debian-source': 'demo', version: '1.0-2' }, opts);
    expect(readFileSync(path.join(srcDir, 'greeting.txt'), 'utf8')).toBe('hello, patched by Debian\n');
    expect(existsSync(path.join(srcDir, 'stale.o'))).toBe(false);
    expect(ctx.lines.some((l) => l.startsWith('using demo 1.0-2 from'))).toBe(true);
  });

  it('names the versions the archive has when the pinned one is missing', async () => {
    const { ctx, opts } = setup([repo.mirrorDir]);
    const f = await failureOf(fetchDebianSource(ctx, { 'debian-source': 'demo', version: '4.17.5+72-g01dac7c8-1' }, opts));
    expect(f).toMatchObject({ reason: 'fetch-failed', url: 'demo=4.17.5+72-g01dac7c8-1 (Debian source)' });
    const message = f.reason === 'fetch-failed' ? f.message : '';
    expect(message).toContain('version 4.17.5+72-g01dac7c8-1 is not available');
    expect(message).toMatch(/has (1\.0-2, 1\.0-1|1\.0-1, 1\.0-2)$/);
    expect((await availableVersions(ctx, 'demo', 'source', opts)).sort()).toEqual(['1.0-1', '1.0-2']);
    expect(await availableVersions(ctx, 'hello-static', 'source', opts)).toEqual([]);
  });

  it('fetches a source and a binary at once through the same private configuration', async () => {
    const { ctx, root, cacheDir, opts } = setup([repo.mirrorDir]);
    const other = makeContext({ srcDir: path.join(root, 'board', 'src', 'other'), cacheDir, mirrorDirs: [repo.mirrorDir] });
    await Promise.all([
      fetchDebianSource(ctx, { 'debian-source': 'demo', version: '1.0-1' }, opts),
      fetchDebianBinary(other, { 'debian-binary': 'hello-static', version: '1:1.1-1' }, opts),
    ]);
    expect(readFileSync(path.join(ctx.srcDir, 'greeting.txt'), 'utf8')).toBe('hello, patched by Debian\n');
    expect(readFileSync(path.join(other.srcDir, 'bin/hello'), 'utf8')).toBe('hello 1.1\n');
    expect(
      other.lines.filter((l) => l.startsWith('updating the armhf package lists')).length +
        ctx.lines.filter((l) => l.startsWith('updating the armhf package lists')).length,
    ).toBe(1);
  });
});

describe('an archive apt-get update fetches only in part', () => {
  it('goes on with the suites it got, says so when a version is missing, and does not update for every package', async () => {
    // bookworm is fine; bookworm-updates has a Sources index its Release does not vouch for, so apt drops that suite.
    const mirror = makeTempDir('xenbuild-apt-mirror-');
    cpSync(repo.repoDir, path.join(mirror, 'debian'), { recursive: true });
    const dists = path.join(mirror, 'debian/dists');
    cpSync(path.join(dists, 'bookworm'), path.join(dists, 'bookworm-updates'), { recursive: true });
    for (const f of ['Sources', 'Sources.gz']) writeFileSync(path.join(dists, 'bookworm-updates/main/source', f), 'not what Release says\n');
    const { ctx, root, cacheDir, opts } = setup([mirror]);
    await fetchDebianBinary(ctx, { 'debian-binary': 'hello-static', version: '1:1.0-1' }, opts);
    expect(ctx.lines.some((l) => l.includes('apt-get update did not fetch every index') && l.endsWith('going on with the lists apt has'))).toBe(true);

    const other = makeContext({ srcDir: path.join(root, 'board', 'src', 'other'), cacheDir, mirrorDirs: [mirror] });
    await fetchDebianSource(other, { 'debian-source': 'demo', version: '1.0-1' }, opts);
    expect(other.lines.some((l) => l.startsWith('updating'))).toBe(false);

    const f = await failureOf(fetchDebianSource(other, { 'debian-source': 'demo', version: '9.9-1' }, opts));
    expect(f.reason === 'fetch-failed' && f.message).toMatch(
      /bookworm-updates has 1\.0-\d, 1\.0-\d \(apt-get update did not fetch every index .*so the lists may be incomplete\)$/,
    );
  });
});

describe('dry run', () => {
  it('describes the commands without writing anything', () => {
    const { srcDir, cacheDir, opts } = setup([repo.mirrorDir]);
    const source = describeDebianSource({ 'debian-source': 'xen', version: '4.17.5+72-g01dac7c8-1' }, { srcDir, cacheDir, mirrorDirs: [repo.mirrorDir] }, opts);
    expect(source.join('\n')).toContain(`# archive: file:${repo.repoDir} bookworm`);
    expect(source.some((l) => l.includes('apt-get -q -o') && l.includes('source --download-only --only-source xen=4.17.5+72-g01dac7c8-1'))).toBe(true);
    expect(source.some((l) => l.startsWith('dpkg-source --no-check --no-copy -x ') && l.includes('xen_4.17.5+72-g01dac7c8-1.dsc'))).toBe(true);
    const binary = describeDebianBinary({ 'debian-binary': 'busybox-static', version: '1:1.35.0-4+b3' }, { srcDir, cacheDir, mirrorDirs: [] }, opts);
    expect(binary.some((l) => l.includes('download busybox-static:armhf=1:1.35.0-4+b3'))).toBe(true);
    expect(binary.some((l) => l.startsWith('dpkg-deb -x ') && l.includes('busybox-static_1%3a1.35.0-4+b3_armhf.deb'))).toBe(true);
    expect(binary[0]).toMatch(/no Debian archive/);
    expect(existsSync(cacheDir)).toBe(false);
  });
});

describe('the host apt', () => {
  it('was never written to', () => {
    expect(mtimes()).toEqual(hostBefore);
    const mentions = (dir: string, what: RegExp) => existsSync(dir) && readdirSync(dir, { recursive: true }).some((f) => what.test(String(f)));
    expect(mentions('/var/lib/apt/lists', /xenbuild/)).toBe(false);
    expect(mentions('/var/cache/apt', /hello-static|demo_1\.0/)).toBe(false);
    const extended = '/var/lib/apt/extended_states';
    expect(existsSync(extended) && readFileSync(extended, 'utf8').includes('hello-static')).toBe(false);
  });
});
