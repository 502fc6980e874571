import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { fetchTarball } from '../src/actions/tarball.js';
import { failureOf, makeContext, makeTempDir, removeTempDirs } from './util/tmp.js';

afterAll(removeTempDirs);

interface Entry {
  name: string;
  /** ustar typeflag: 0 file, 1 hard link, 2 symlink, 3 char device, 5 directory */
  type?: '0' | '1' | '2' | '3' | '5';
  content?: string;
  link?: string;
}

/** A ustar archive written byte by byte, so that it can hold anything a hostile archive would. */
function tarOf(entries: readonly Entry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.content ?? '');
    const h = Buffer.alloc(512);
    h.write(e.name, 0, 100);
    h.write(e.type === '5' ? '0000755\0' : '0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(body.length.toString(8).padStart(11, '0') + '\0', 124);
    h.write('14000000000\0', 136);
    h.write('        ', 148);
    h.write(e.type ?? '0', 156);
    h.write(e.link ?? '', 157, 100);
    h.write('ustar\0' + '00', 257);
    let sum = 0;
    for (const byte of h) sum += byte;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    blocks.push(h, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

const GOOD: Entry[] = [
  { name: 'pkg-1.0/', type: '5' },
  { name: 'pkg-1.0/src/', type: '5' },
  { name: 'pkg-1.0/src/a.c', content: 'int a;\n' },
  { name: 'pkg-1.0/Makefile', content: 'all:\n' },
  { name: 'pkg-1.0/src/link.c', type: '2', link: 'a.c' },
  { name: 'pkg-1.0/up', type: '2', link: 'src/../Makefile' },
  { name: 'pkg-1.0/hard.c', type: '1', link: 'pkg-1.0/src/a.c' },
];

function setup(mirrorDirs: string[] = []) {
  const root = makeTempDir();
  const srcDir = path.join(root, 'board', 'src', 'pkg');
  const cacheDir = path.join(root, 'cache');
  /** Write `data` as root/<name> and return its path. */
  const file = (name: string, data: Buffer) => {
    const p = path.join(root, name);
    writeFileSync(p, data);
    return p;
  };
  return { root, srcDir, cacheDir, file, ctx: makeContext({ srcDir, cacheDir, mirrorDirs }) };
}

describe('fetchTarball', () => {
  it('verifies, caches and extracts a .tar.gz with strip 1, replacing the old tree', async () => {
    const { srcDir, cacheDir, file, ctx } = setup();
    const data = gzipSync(tarOf(GOOD));
    const archive = file('pkg-1.0.tar.gz', data);
    mkdirSync(srcDir, { recursive: true });
    writeFileSync(path.join(srcDir, 'stale.o'), 'old');
    expect(await fetchTarball(ctx, { tarball: archive, sha256: sha256(data) })).toEqual({ sha256: sha256(data) });
    expect(readFileSync(path.join(srcDir, 'src', 'a.c'), 'utf8')).toBe('int a;\n');
    expect(readlinkSync(path.join(srcDir, 'src', 'link.c'))).toBe('a.c');
    expect(readFileSync(path.join(srcDir, 'up'), 'utf8')).toBe('all:\n');
    expect(statSync(path.join(srcDir, 'hard.c')).ino).toBe(statSync(path.join(srcDir, 'src', 'a.c')).ino);
    expect(existsSync(path.join(srcDir, 'stale.o'))).toBe(false);
    expect(readdirSync(path.dirname(srcDir))).toEqual(['pkg']);
    expect(readFileSync(path.join(cacheDir, 'downloads', sha256(data), 'pkg-1.0.tar.gz'))).toEqual(data);

    // The cache makes the original unnecessary.
    rmSync(archive);
    await fetchTarball(ctx, { tarball: archive, sha256: sha256(data).toUpperCase() });
    expect(existsSync(path.join(srcDir, 'Makefile'))).toBe(true);
  });

  it('honours strip 0 and 2, and reads plain tar over file:// URLs', async () => {
    const { srcDir, file, ctx } = setup();
    const data = tarOf(GOOD);
    const url = pathToFileURL(file('pkg.tar', data)).href;
    await fetchTarball(ctx, { tarball: url, sha256: sha256(data), strip: 0 });
    expect(existsSync(path.join(srcDir, 'pkg-1.0', 'src', 'a.c'))).toBe(true);
    await fetchTarball(ctx, { tarball: url, sha256: sha256(data), strip: 2 });
    expect(readdirSync(srcDir)).toEqual(['a.c', 'link.c']);
  });

  it.each([
    ['xz', '.tar.xz'],
    ['zstd', '.tar.zst'],
    ['bzip2', '.tar.bz2'],
  ])('decompresses %s archives with the host program', async (program, suffix) => {
    const { root, srcDir, file, ctx } = setup();
    const tar = file('pkg.tar', tarOf(GOOD));
    execFileSync(program, ['-k', '-q', tar], { cwd: root });
    const data = readFileSync(tar + suffix.slice(4));
    const archive = file(`pkg${suffix}`, data);
    await fetchTarball(ctx, { tarball: archive, sha256: sha256(data) });
    expect(readFileSync(path.join(srcDir, 'src', 'a.c'), 'utf8')).toBe('int a;\n');
  });

  it('rejects a checksum mismatch and keeps nothing', async () => {
    const { srcDir, cacheDir, file, ctx } = setup();
    const data = gzipSync(tarOf(GOOD));
    const archive = file('pkg.tar.gz', data);
    const pinned = 'ab'.repeat(32);
    expect(await failureOf(fetchTarball(ctx, { tarball: archive, sha256: pinned }))).toEqual({
      reason: 'checksum-mismatch',
      file: archive,
      expected: pinned,
      actual: sha256(data),
    });
    expect(readdirSync(path.join(cacheDir, 'downloads', pinned))).toEqual([]);
    expect(existsSync(srcDir)).toBe(false);
  });

  it('takes the file from a mirror dir by name or by sha256 instead of the network', async () => {
    const { root, srcDir, cacheDir } = setup();
    const data = gzipSync(tarOf(GOOD));
    const byName = path.join(root, 'm1');
    const bySha = path.join(root, 'm2');
    mkdirSync(byName);
    mkdirSync(bySha);
    writeFileSync(path.join(byName, 'pkg-1.0.tar.gz'), data);
    writeFileSync(path.join(bySha, sha256(data)), data);
    const url = 'https://example.invalid/releases/pkg-1.0.tar.gz';
    for (const mirror of [byName, bySha]) {
      rmSync(srcDir, { recursive: true, force: true });
      rmSync(cacheDir, { recursive: true, force: true });
      await fetchTarball(makeContext({ srcDir, cacheDir, mirrorDirs: [mirror] }), { tarball: url, sha256: sha256(data) });
      expect(existsSync(path.join(srcDir, 'src', 'a.c'))).toBe(true);
      // Cached as a download is: the cache alone holds every source afterwards.
      expect(readFileSync(path.join(cacheDir, 'downloads', sha256(data), 'pkg-1.0.tar.gz'))).toEqual(data);
    }
    rmSync(cacheDir, { recursive: true, force: true });
    writeFileSync(path.join(byName, 'pkg-1.0.tar.gz'), 'tampered');
    const failure = await failureOf(fetchTarball(makeContext({ srcDir, cacheDir, mirrorDirs: [byName] }), { tarball: url, sha256: sha256(data) }));
    expect(failure).toMatchObject({ reason: 'checksum-mismatch', file: path.join(byName, 'pkg-1.0.tar.gz') });
  });

  it('downloads over http and reports HTTP errors as fetch-failed', async () => {
    const data = gzipSync(tarOf(GOOD));
    const server = createServer((req, res) => {
      if (req.url === '/pkg.tar.gz') res.end(data);
      else res.writeHead(404, 'Not Found').end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const { srcDir, ctx } = setup();
      await fetchTarball(ctx, { tarball: `${base}/pkg.tar.gz`, sha256: sha256(data) });
      expect(existsSync(path.join(srcDir, 'Makefile'))).toBe(true);
      expect(await failureOf(fetchTarball(ctx, { tarball: `${base}/gone.tar.gz`, sha256: 'cd'.repeat(32) }))).toEqual({
        reason: 'fetch-failed',
        url: `${base}/gone.tar.gz`,
        message: 'HTTP 404 Not Found',
      });
    } finally {
      server.close();
    }
  });

  const evil: [string, Entry[], string, RegExp][] = [
    ['an absolute path', [{ name: '/tmp/xenbuild-evil', content: 'x' }], '/tmp/xenbuild-evil', /absolute path/],
    ['a ../ entry', [{ name: 'pkg/../../evil', content: 'x' }], 'pkg/../../evil', /"\.\." path component/],
    ['a symlink to an absolute path', [{ name: 'pkg/etc', type: '2', link: '/etc' }], 'pkg/etc', /symlink to the absolute path \/etc/],
    ['a symlink climbing out', [{ name: 'pkg/sub/up', type: '2', link: '../../..' }], 'pkg/sub/up', /outside the extraction directory/],
    [
      'a symlink escaping through another symlink',
      [
        { name: 'pkg/x/y', type: '2', link: '..' },
        { name: 'pkg/x/z', type: '2', link: 'y/../..' },
      ],
      'pkg/x/z',
      /symlink to y\/\.\.\/\.\., outside/,
    ],
    [
      'a file written through a symlink',
      [
        { name: 'pkg/d', type: '2', link: 'sub' },
        { name: 'pkg/d/file', content: 'x' },
      ],
      'pkg/d/file',
      /written through the symlink d$/,
    ],
    ['a hard link to an absolute path', [{ name: 'pkg/passwd', type: '1', link: '/etc/passwd' }], 'pkg/passwd', /hard link to \/etc\/passwd/],
    ['a hard link climbing out', [{ name: 'pkg/h', type: '1', link: 'pkg/../../outside' }], 'pkg/h', /hard link to pkg\/\.\.\/\.\.\/outside/],
    ['a device node', [{ name: 'pkg/null', type: '3' }], 'pkg/null', /device node/],
  ];

  it.each(evil)('refuses %s and extracts nothing', async (_what, entries, bad, why) => {
    const { srcDir, file, ctx } = setup();
    const data = gzipSync(tarOf([{ name: 'pkg/', type: '5' }, { name: 'pkg/ok.c', content: 'ok' }, ...entries]));
    const archive = file('evil.tar.gz', data);
    mkdirSync(srcDir, { recursive: true });
    writeFileSync(path.join(srcDir, 'previous'), 'kept');
    const failure = await failureOf(fetchTarball(ctx, { tarball: archive, sha256: sha256(data) }));
    expect(failure).toMatchObject({ reason: 'unsafe-archive-entry', archive: 'evil.tar.gz', entry: bad });
    expect(failure.reason === 'unsafe-archive-entry' && failure.why).toMatch(why);
    expect(readdirSync(srcDir)).toEqual(['previous']);
    expect(readdirSync(path.dirname(srcDir))).toEqual(['pkg']);
    expect(existsSync('/tmp/xenbuild-evil')).toBe(false);
  });

  it('refuses a file that is not a tar archive', async () => {
    const { file, ctx } = setup();
    const data = Buffer.from('this is not a tarball, just some text that is long enough\n'.repeat(20));
    const failure = await failureOf(fetchTarball(ctx, { tarball: file('junk.tar', data), sha256: sha256(data) }));
    expect(failure).toMatchObject({ reason: 'unsafe-archive-entry', entry: '(archive)' });
  });
});
