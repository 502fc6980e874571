import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flashCommand } from '../src/commands/flash.js';
import { mappedBytes, parseBmap } from '../src/flash/bmap.js';
import { flash, FlashVerifyError } from '../src/flash/flash.js';
import { FlashRefusal } from '../src/flash/target.js';
import { sha256File } from '../src/image/release.js';
import { standardMachine, type FakeMachine } from './util/fake-sysfs.js';
import { XENBUILD } from './util/rig.js';
import { makeTempDir, removeTempDirs } from './util/tmp.js';

const MiB = 1024 ** 2;
/** Not a multiple of the 4 KiB bmap block: the last range is cut short. */
const SIZE = 64 * MiB + 1000;

let dir: string;
let image: string;
let bmap: string;
let m: FakeMachine;

/** Writes `data` at `offset` of `file` without truncating it. */
function poke(file: string, offset: number, data: Buffer): void {
  const fd = openSync(file, 'r+');
  writeSync(fd, data, 0, data.length, offset);
  closeSync(fd);
}

function peek(file: string, offset: number, length: number): Buffer {
  const fd = openSync(file, 'r');
  const b = Buffer.alloc(length);
  readSync(fd, b, 0, length, offset);
  closeSync(fd);
  return b;
}

beforeAll(() => {
  dir = makeTempDir('xenbuild-flash-');
  m = standardMachine(path.join(dir, 'machine'));
  image = path.join(dir, 'card.img');
  bmap = path.join(dir, 'card.bmap');
  execFileSync('truncate', ['-s', String(SIZE), image]);
  poke(image, 0, Buffer.from('boot sector'));
  poke(image, MiB, Buffer.alloc(MiB, 0x5a));
  poke(image, 40 * MiB, Buffer.from('x'.repeat(300_000)));
  poke(image, SIZE - 10, Buffer.from('the end!!!'));
  execFileSync('bmaptool', ['create', '-o', bmap, image], { stdio: 'ignore' });
});
afterAll(removeTempDirs);

const quiet = () => undefined;

describe('flash into a file (--allow-file)', () => {
  it('writes with bmaptool and verifies every range', async () => {
    const target = path.join(dir, 'out1.img');
    const lines: string[] = [];
    const result = await flash({ image, bmap, device: target, allowFile: true, yes: true, print: (l) => lines.push(l) });
    expect(result).toMatchObject({
      method: 'bmaptool',
      target: { kind: 'file', path: target, exists: false },
      ranges: parseBmap(readFileSync(bmap, 'utf8')).ranges.length,
    });
    expect(await sha256File(target)).toBe(await sha256File(image));
    expect(statSync(target).size).toBe(SIZE);
    expect(lines[0]).toBe(`Writing card.img (64.0 MiB image, ${(result.bytes / MiB).toFixed(1)} MiB of data in ${result.ranges} ranges) to ${target}`);
    expect(lines[1]).toBe(`  ${target}: a new file.`);
    expect(lines.at(-1)).toBe(`Verified: every written range of ${target} matches card.bmap.`);
  });

  it('asks first, and writes nothing without a "yes"', async () => {
    const target = path.join(dir, 'out2.img');
    const asked: string[] = [];
    const err = await flash({ image, bmap, device: target, allowFile: true, print: quiet, prompt: async (q) => (asked.push(q), 'no') }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FlashRefusal);
    expect((err as FlashRefusal).code).toBe('not-confirmed');
    expect((err as Error).message).toBe(`not confirmed: nothing was written to ${target} (answer "yes", or pass --yes)`);
    expect(asked).toEqual([`Type "yes" to write ${target}: `]);
    expect(existsSync(target)).toBe(false);
    await flash({ image, bmap, device: target, allowFile: true, print: quiet, prompt: async () => 'yes\n' });
    expect(await sha256File(target)).toBe(await sha256File(image));
  });

  it('catches a corrupted write when reading back', async () => {
    const target = path.join(dir, 'out3.img');
    const flipAt = 40 * MiB + 12_345;
    const err = await flash({
      image,
      bmap,
      device: target,
      allowFile: true,
      yes: true,
      print: quiet,
      afterWrite: (t) => poke(t, flipAt, Buffer.from([peek(t, flipAt, 1)[0]! ^ 0x01])),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlashVerifyError);
    const bad = (err as FlashVerifyError).bad;
    expect(bad).toHaveLength(1);
    expect(bad[0]!.start).toBeLessThanOrEqual(flipAt);
    expect(bad[0]!.end).toBeGreaterThan(flipAt);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^verification FAILED: 1 of \\d+ written ranges of ${target.replace(/[.]/g, '\\.')} read back differently from the image:\n  blocks ${bad[0]!.range.first}-${bad[0]!.range.last} \\(bytes ${bad[0]!.start}-${bad[0]!.end - 1}\\): sha256 [0-9a-f]{64}, expected ${bad[0]!.range.checksum}\n`,
      ),
    );
  });

  it('copies the mapped ranges itself without bmaptool, says so, and still verifies', async () => {
    const target = path.join(dir, 'out4.img');
    writeFileSync(target, Buffer.alloc(80 * MiB, 0xee)); // an old, bigger file full of garbage
    const lines: string[] = [];
    const result = await flash({ image, bmap, device: target, allowFile: true, yes: true, bmaptool: 'bmaptool-is-not-installed', print: (l) => lines.push(l) });
    expect(result.method).toBe('builtin');
    expect(lines).toContain(
      `bmaptool is not installed (apt-get install bmap-tools): copying the ${result.ranges} mapped ranges (${(result.bytes / MiB).toFixed(1)} MiB) myself`,
    );
    expect(await sha256File(target)).toBe(await sha256File(image));
    expect(statSync(target).blocks * 512).toBeLessThan(8 * MiB); // holes, not zeros
  });

  it('stops the built-in copy when the image does not match its bmap', async () => {
    const changed = path.join(dir, 'changed.img');
    execFileSync('cp', ['--sparse=always', image, changed]);
    poke(changed, MiB + 5, Buffer.from('!'));
    const target = path.join(dir, 'out5.img');
    const err = await flash({ image: changed, bmap, device: target, allowFile: true, yes: true, bmaptool: 'bmaptool-is-not-installed', print: quiet }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FlashVerifyError);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^${changed} does not match its bmap \\(blocks \\d+-\\d+ differ from the bmap's checksum\\): rebuild the image and its bmap; ${target} now holds a partial image$`,
      ),
    );
  });

  it('with bmaptool too, tells an image that does not match its bmap from a bad write', async () => {
    const changed = path.join(dir, 'changed-bmaptool.img');
    execFileSync('cp', ['--sparse=always', image, changed]);
    poke(changed, MiB + 5, Buffer.from('!'));
    const target = path.join(dir, 'out6.img');
    const err = await flash({ image: changed, bmap, device: target, allowFile: true, yes: true, print: quiet }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlashVerifyError);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^${changed} does not match its bmap \\(blocks \\d+-\\d+ differ from the bmap's checksum\\): rebuild the image and its bmap; ${target} now holds a partial image$`,
      ),
    );
  });

  it('refuses a bmap that is corrupt or belongs to another image', async () => {
    const broken = path.join(dir, 'broken.bmap');
    writeFileSync(
      broken,
      readFileSync(bmap, 'utf8').replace(/chksum="([0-9a-f])/, (_, c: string) => `chksum="${c === '0' ? '1' : '0'}`),
    );
    const target = path.join(dir, 'never.img');
    await expect(flash({ image, bmap: broken, device: target, allowFile: true, yes: true, print: quiet })).rejects.toThrow(
      `${broken}: the bmap file is corrupt (its BmapFileChecksum does not match its contents)`,
    );
    const other = path.join(dir, 'other.img');
    execFileSync('truncate', ['-s', '1M', other]);
    await expect(flash({ image: other, bmap, device: target, allowFile: true, yes: true, print: quiet })).rejects.toThrow(
      `${other} is 1048576 bytes but ${bmap} describes an image of ${SIZE} bytes: they do not belong together; recreate the bmap`,
    );
    expect(existsSync(target)).toBe(false);
  });
});

describe('flash onto a (fake) disk', () => {
  it('says what will be lost, asks, writes and verifies', async () => {
    const lines: string[] = [];
    const sdb = path.join(m.devRoot, 'sdb');
    const result = await flash({ image, bmap, device: sdb, env: m.env, print: (l) => lines.push(l), prompt: async () => 'yes' });
    expect(result.target.kind).toBe('disk');
    expect(lines.slice(1, 5)).toEqual([
      `  ${sdb}: Generic SD/MMC CRW, 4 GiB (4294967296 bytes), removable`,
      '  Everything on it will be lost:',
      `    ${sdb}1  64 MiB  "BOOT"`,
      `    ${sdb}2  1 GiB  "root fs"`,
    ]);
    expect(lines.at(-1)).toBe(`Verified: every written range of ${sdb} matches card.bmap. You can remove the card.`);
    expect(await sha256File(sdb)).toBe(await sha256File(image));
  });
});

describe('a downloaded release, checked against its SHA256SUMS', () => {
  /** A release directory as image:release leaves it: the image, its bmap and SHA256SUMS listing both. */
  function release(name: string): { dir: string; img: string } {
    const rel = path.join(dir, name);
    mkdirSync(rel);
    const img = path.join(rel, 'card.img');
    execFileSync('cp', ['--sparse=always', image, img]);
    execFileSync('cp', [bmap, path.join(rel, 'card.img.bmap')]);
    writeFileSync(path.join(rel, 'SHA256SUMS'), execFileSync('sha256sum', ['card.img', 'card.img.bmap'], { cwd: rel, encoding: 'utf8' }));
    return { dir: rel, img };
  }

  it('says both files are the released ones, reading only the data of the image, then writes', async () => {
    const { img } = release('rel-ok');
    const lines: string[] = [];
    const target = path.join(dir, 'from-release.img');
    expect(await flashCommand({ image: img, device: target, allowFile: true, yes: true, print: (l) => lines.push(l) })).toBe(0);
    const data = `${(mappedBytes(parseBmap(readFileSync(bmap, 'utf8'))) / MiB).toFixed(1)} MiB`;
    expect(lines).toContain(`  card.img: OK (its ${data} of data match card.img.bmap, which SHA256SUMS lists)`);
    expect(lines).toContain('  card.img.bmap: OK (SHA256SUMS)');
    expect(await sha256File(target)).toBe(await sha256File(image));
  });

  it('refuses an image whose data changed since the release, before writing anything', async () => {
    const { dir: rel, img } = release('rel-changed');
    poke(img, 40 * MiB + 7, Buffer.from('?'));
    const lines: string[] = [];
    const target = path.join(dir, 'never-from-release.img');
    expect(await flashCommand({ image: img, device: target, allowFile: true, yes: true, print: (l) => lines.push(l) })).toBe(2);
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^xenbuild: refusing to flash: ${img} does not match ${path.join(rel, 'SHA256SUMS')} \\(1 of the \\d+ data ranges of its bmap differ, the first at bytes \\d+-\\d+\\): the download is incomplete or the file was changed; get it again$`,
      ),
    );
    expect(existsSync(target)).toBe(false);
  });

  it('refuses a changed bmap, and hashes the whole image when only the image is listed', async () => {
    const { dir: rel, img } = release('rel-bmap');
    // A bmap valid in itself but not the released one: made for an image of the same size with other data.
    const other = path.join(rel, 'other.img');
    execFileSync('cp', ['--sparse=always', image, other]);
    poke(other, 20 * MiB, Buffer.from('other data'));
    const bmapCopy = path.join(rel, 'card.img.bmap');
    execFileSync('bmaptool', ['create', '-o', bmapCopy, other], { stdio: 'ignore' });
    const lines: string[] = [];
    const target = path.join(dir, 'never-from-bmap.img');
    expect(await flashCommand({ image: img, device: target, allowFile: true, yes: true, print: (l) => lines.push(l) })).toBe(2);
    expect(lines.at(-1)).toMatch(new RegExp(`^xenbuild: refusing to flash: ${bmapCopy} does not match .*SHA256SUMS \\(sha256 [0-9a-f]{64}, listed`));
    expect(existsSync(target)).toBe(false);
    // Without the bmap's line, the image's own line is what vouches for it: the whole file is hashed.
    execFileSync('cp', [bmap, bmapCopy]);
    const sums = path.join(rel, 'SHA256SUMS');
    writeFileSync(
      sums,
      readFileSync(sums, 'utf8')
        .split('\n')
        .filter((l) => !l.endsWith('card.img.bmap'))
        .join('\n'),
    );
    lines.length = 0;
    expect(await flashCommand({ image: img, device: target, allowFile: true, yes: true, print: (l) => lines.push(l) })).toBe(0);
    expect(lines).toContain('  card.img: OK (SHA256SUMS)');
    expect(lines).toContain(`  card.img.bmap: not listed in ${sums}`);
    poke(img, SIZE - 20, Buffer.from('?')); // in a hole the bmap does not map: only the whole-file hash sees it
    expect(await flashCommand({ image: img, device: target, allowFile: true, yes: true, print: (l) => lines.push(l) })).toBe(2);
    expect(lines.at(-1)).toMatch(/^xenbuild: refusing to flash: .*card\.img does not match .*\(sha256 [0-9a-f]{64}, listed/);
  });

  it('hashes a compressed image whole', async () => {
    const rel = path.join(dir, 'rel-zst');
    mkdirSync(rel);
    execFileSync('zstd', ['-q', '-o', path.join(rel, 'card.img.zst'), image]);
    execFileSync('cp', [bmap, path.join(rel, 'card.img.bmap')]);
    writeFileSync(path.join(rel, 'SHA256SUMS'), execFileSync('sha256sum', ['card.img.zst', 'card.img.bmap'], { cwd: rel, encoding: 'utf8' }));
    const lines: string[] = [];
    const target = path.join(dir, 'from-zst.img');
    expect(await flashCommand({ image: path.join(rel, 'card.img.zst'), device: target, allowFile: true, yes: true, print: (l) => lines.push(l) })).toBe(0);
    expect(lines).toContain('  card.img.zst: OK (SHA256SUMS)');
    expect(await sha256File(target)).toBe(await sha256File(image));
    poke(path.join(rel, 'card.img.zst'), 100, Buffer.from('??'));
    expect(await flashCommand({ image: path.join(rel, 'card.img.zst'), device: target, allowFile: true, yes: true, print: (l) => lines.push(l) })).toBe(2);
    expect(lines.at(-1)).toMatch(/card\.img\.zst does not match .*SHA256SUMS \(sha256 /);
  });

  it('is flashed by the CLI with --image, outside any project', () => {
    const { dir: rel } = release('rel-cli');
    const target = path.join(dir, 'cli-card.img');
    const r = spawnSync(process.execPath, [XENBUILD, 'flash', '--image', 'card.img', '--device', target, '--allow-file', '--yes'], {
      cwd: rel,
      encoding: 'utf8',
    });
    expect(r.stderr).toContain('card.img: OK (its ');
    expect(r.status).toBe(0);
    expect(
      readFileSync(target)
        .subarray(MiB, 2 * MiB)
        .equals(Buffer.alloc(MiB, 0x5a)),
    ).toBe(true);
  });
});

describe('flashCommand', () => {
  it('finds the bmap next to the image and returns 0, 2 on a refusal, 1 on a bad write', async () => {
    const lines: string[] = [];
    const print = (l: string) => lines.push(l);
    expect(await flashCommand({ image, device: path.join(dir, 'cmd.img'), allowFile: true, yes: true, print })).toBe(0);
    expect(await flashCommand({ image, device: path.join(m.devRoot, 'sda'), yes: true, env: m.env, print })).toBe(2);
    expect(lines.at(-1)).toMatch(/^xenbuild: refusing to flash: .*sda \(ATA Samsung SSD 870, 64 GiB\) is not a removable disk/);
    const flip = (t: string) => poke(t, 0, Buffer.from('B'));
    expect(await flashCommand({ image, device: path.join(dir, 'cmd2.img'), allowFile: true, yes: true, print, afterWrite: flip })).toBe(1);
    expect(lines.at(-1)).toMatch(/^xenbuild: verification FAILED: 1 of \d+ written ranges/);
  });
});
