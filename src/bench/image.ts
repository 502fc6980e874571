/**
 * `node dist/bench/image.js [--runs N] [--keep] [--build-only]` (after `npx tsc -p .`):
 * what xenbuild's image step and flashing cost, in figures. A measurement,
 * not a test: it prints and exits 0 (1 only if the setup itself fails).
 *
 *   1. Image build: the dra7-evm layout (FAT32 boot 64 MiB with the six boot
 *      files, ext4 root filling a 2 GiB card from a ~100 MB tree) built with
 *      buildImage(), against genimage alone on the very same configuration:
 *      the difference is xenbuild's own work (input checks, the ownership
 *      walk, reading the partition table, the final rename, and the way
 *      genimage is run so that the tree is root's: as-root.ts). Three times
 *      when run as root: the tree owned by root (a build as root: genimage as
 *      it is); owned by uid 1000 but built by root (under fakeroot, which
 *      `fakeroot genimage` is the by-hand equivalent of); and as a real
 *      non-root builder, this benchmark run again as uid 1000 on a tree of
 *      its own (in a user namespace).
 *   Runs alternate (genimage first, then xenbuild first) with a `sync` before
 *   each, and the first exec() of the process (loading execa) happens before
 *   timing starts.
 *   2. Flashing that 2 GiB image into a file from a release directory (the
 *      image, its bmap, SHA256SUMS): the whole flash() call, timed from
 *      outside (release checks, bmaptool write and sync, read-back), with
 *      bmaptool and with the built-in ranged copy, against
 *      `dd bs=4M conv=fsync` of the whole image.
 *
 * Files are written to the same disk as the image, so the figures measure
 * the page cache and that disk, not an SD card (whose ~10–20 MB/s makes the
 * bmap's advantage — writing ~100 MB instead of 2 GiB — much larger).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exec } from '../host/process.js';
import { flash } from '../flash/flash.js';
import { buildImage } from '../image/build.js';
import { buildEnvironment, genimageConfig } from '../image/genimage-config.js';
import type { ImageLayout } from '../image/layout.js';
import { stats, type Stats } from './timing.js';

const MiB = 1024 * 1024;
const BOOT = { MLO: 100_000, 'u-boot.img': 400_000, 'uEnv.txt': 1_000, 'xen-uImage': 900_000, zImage: 5_000_000, 'dra7-evm.dtb': 100_000 };

/** The inputs: boot files and a root tree of ~100 MB (random data: it does not compress away). */
function makeInputs(base: string): { deploy: string; rootfs: string; bytes: number } {
  const deploy = join(base, 'deploy');
  const rootfs = join(base, 'rootfs');
  mkdirSync(deploy, { recursive: true });
  for (const [name, size] of Object.entries(BOOT)) writeFileSync(join(deploy, name), randomBytes(size));
  let bytes = 0;
  for (let d = 0; d < 20; d++) {
    const dir = join(rootfs, 'usr', `lib${d}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 50; f++) {
      const size = f === 0 ? 4 * MiB : 20_000;
      writeFileSync(join(dir, `file${f}`), randomBytes(size));
      bytes += size;
    }
  }
  return { deploy, rootfs, bytes };
}

/** Gives every entry under `dir` to uid:gid 1000, as a non-root builder's files would be. */
function giveAway(dir: string): void {
  chownSync(dir, 1000, 1000);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) giveAway(join(dir, entry.name));
    else chownSync(join(dir, entry.name), 1000, 1000);
  }
}

function layoutFor(deploy: string, rootfs: string): ImageLayout {
  return {
    table: 'mbr',
    partitions: [
      { name: 'boot', type: 'fat32', size: 64 * MiB, bootable: true, files: Object.keys(BOOT).map((f) => ({ from: join(deploy, f) })) },
      { name: 'root', type: 'ext4', size: (2048 - 1 - 64) * MiB, from: { dir: rootfs } },
    ],
  };
}

const now = () => Number(process.hrtime.bigint()) / 1e6;
const fmt = (s: Stats) => `median ${Math.round(s.median)} ms (min ${Math.round(s.min)}, ${s.samples.length} runs)`;

/**
 * genimage alone on `config`, in fresh directories, as buildImage runs it;
 * with `fakeroot`, the way genimage's documentation says to run it by hand
 * (and the only way its ext4 files are root:root when the tree is not root's).
 */
function genimageAlone(base: string, config: string, fakeroot: boolean): number {
  const dir = mkdtempSync(join(base, 'genimage-'));
  const paths = ['root', 'tmp', 'input', 'output'].map((p) => join(dir, p));
  for (const p of paths) mkdirSync(p);
  writeFileSync(join(dir, 'genimage.cfg'), config);
  const start = now();
  const argv = [
    'genimage',
    '--config',
    join(dir, 'genimage.cfg'),
    '--rootpath',
    paths[0]!,
    '--tmppath',
    paths[1]!,
    '--inputpath',
    paths[2]!,
    '--outputpath',
    paths[3]!,
  ];
  const r = spawnSync(fakeroot ? 'fakeroot' : argv[0]!, fakeroot ? ['--', ...argv] : argv.slice(1), {
    stdio: 'ignore',
    env: { ...process.env, ...buildEnvironment() },
  });
  const ms = now() - start;
  if (r.status !== 0) throw new Error(`genimage failed (status ${r.status})`);
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

/**
 * The image build as a non-root builder really runs it: this benchmark again,
 * as uid 1000 (`setpriv`), on a tree of its own (said, not measured, when
 * uid 1000 cannot read this checkout's dist/).
 */
function asBuilder(runs: number): void {
  const script = fileURLToPath(import.meta.url);
  const env = { ...process.env, HOME: tmpdir() };
  const argv = ['--reuid=1000', '--regid=1000', '--clear-groups', process.execPath, script, '--runs', String(runs), '--build-only'];
  const r = spawnSync('setpriv', argv, { stdio: 'inherit', env });
  if (r.status !== 0) console.log(`build   (as uid 1000: not measured, setpriv ${process.execPath} ${script} exited with ${r.status ?? r.signal})`);
}

/** The benchmark, read top to bottom: each step is set up, timed against its baseline and printed in turn (a script, kept whole on purpose). */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '3' }, keep: { type: 'boolean', default: false }, 'build-only': { type: 'boolean', default: false } },
  });
  const runs = Math.max(1, Number(values.runs));
  const base = mkdtempSync(join(tmpdir(), 'xenbuild-bench-image-'));
  try {
    const inputs = makeInputs(base);
    const layout = layoutFor(inputs.deploy, inputs.rootfs);
    console.log(
      `image: 2 GiB (FAT32 64 MiB + ext4 ${2048 - 65} MiB), root tree ${(inputs.bytes / 1e6).toFixed(0)} MB in 1000 files, ${runs} runs each, as uid ${process.getuid?.()}`,
    );

    await exec(['true'], { cwd: base, onLine: () => undefined }); // load execa before anything is timed
    const out = join(base, 'out');
    const measure = async (owner: string) => {
      const build: number[] = [];
      const alone: number[] = [];
      const faked: number[] = [];
      for (let i = 0; i < runs; i++) {
        // Each run starts with no dirty pages of the one before (writeback would be billed to it), in alternating order.
        spawnSync('sync');
        if (i % 2 === 0) alone.push(genimageAlone(base, genimageConfig(layout, 'sdcard'), false));
        spawnSync('sync');
        if (i % 2 === 0) faked.push(genimageAlone(base, genimageConfig(layout, 'sdcard'), true));
        // Like genimage's, xenbuild's output directory starts empty (deleting the last 2 GiB image is not billed to either).
        rmSync(out, { recursive: true, force: true });
        spawnSync('sync');
        const start = now();
        await buildImage({ layout, name: 'sdcard', workDir: join(base, 'work'), outDir: out });
        build.push(now() - start);
        spawnSync('sync');
        if (i % 2 === 1) faked.push(genimageAlone(base, genimageConfig(layout, 'sdcard'), true));
        spawnSync('sync');
        if (i % 2 === 1) alone.push(genimageAlone(base, genimageConfig(layout, 'sdcard'), false));
      }
      const [b, g, f] = [stats(build), stats(alone), stats(faked)];
      console.log(`build   tree owned by ${owner}`);
      console.log(`build     genimage alone      ${fmt(g)}`);
      console.log(`build     fakeroot genimage   ${fmt(f)}`);
      console.log(`build     xenbuild buildImage ${fmt(b)}  (+${Math.round(b.median - g.median)} ms over genimage alone)`);
      console.log(`build     ratio ${(b.median / g.median).toFixed(2)} to genimage alone, ${(b.median / f.median).toFixed(2)} to fakeroot genimage`);
    };
    if (process.getuid?.() === 0) {
      await measure('root (a build as root: genimage runs as it is)');
      giveAway(inputs.rootfs);
      await measure("uid 1000, built by root (another user's files: genimage runs under fakeroot)");
      asBuilder(runs);
    } else {
      await measure(`the builder, uid ${process.getuid?.()} (genimage runs in a user namespace)`);
    }
    if (values['build-only']) return;

    // A release directory as image:release leaves it, so that flash() checks the release as it does for a user.
    const image = join(out, 'sdcard.img');
    const bmap = join(out, 'sdcard.img.bmap');
    let start = now();
    execFileSync('bmaptool', ['create', '-o', bmap, image], { stdio: 'ignore' });
    console.log(`bmap    bmaptool create     ${Math.round(now() - start)} ms`);
    writeFileSync(join(out, 'SHA256SUMS'), execFileSync('sha256sum', ['sdcard.img', 'sdcard.img.bmap'], { cwd: out, encoding: 'utf8' }));

    // Each run flashes with all three, in a rotating order: the disk's state (discards of the last target, writeback) is shared fairly.
    const target = join(base, 'target.img');
    type Sample = { total: number; write: number; verify: number; bytes: number };
    const methods: { label: string; run: () => Promise<Sample> }[] = [
      ...(['bmaptool', 'no-such-bmaptool'] as const).map((bmaptool) => ({
        label: bmaptool === 'bmaptool' ? 'bmaptool copy      ' : 'built-in copy      ',
        run: async () => {
          const start = now();
          const r = await flash({ image, bmap, device: target, allowFile: true, yes: true, bmaptool, print: () => undefined });
          return { total: now() - start, write: r.writeMs, verify: r.verifyMs, bytes: r.bytes };
        },
      })),
      {
        label: 'dd bs=4M conv=fsync ',
        run: async () => {
          const start = now();
          execFileSync('dd', [`if=${image}`, `of=${target}`, 'bs=4M', 'conv=fsync'], { stdio: 'ignore' });
          const total = now() - start;
          return { total, write: total, verify: 0, bytes: statSync(image).size };
        },
      },
    ];
    const samples: Sample[][] = methods.map(() => []);
    for (let i = 0; i < runs; i++) {
      for (let k = 0; k < methods.length; k++) {
        const which = (i + k) % methods.length;
        rmSync(target, { force: true });
        spawnSync('sync');
        samples[which]!.push(await methods[which]!.run());
      }
    }
    const median = (xs: Sample[], key: keyof Sample) => stats(xs.map((x) => x[key])).median;
    methods.forEach((method, k) => {
      const xs = samples[k]!;
      const [total, write, verify] = [median(xs, 'total'), median(xs, 'write'), median(xs, 'verify')];
      const parts = method.label.startsWith('dd')
        ? 'nothing verified'
        : `release checks ${Math.round(total - write - verify)} ms, write ${Math.round(write)} ms, read-back ${Math.round(verify)} ms`;
      console.log(`flash   ${method.label} ${fmt(stats(xs.map((x) => x.total)))}: ${parts}  (${(xs[0]!.bytes / 1e6).toFixed(0)} MB written)`);
    });
    const bm = { total: median(samples[0]!, 'total'), write: median(samples[0]!, 'write'), bytes: samples[0]![0]!.bytes };
    const ddMs = median(samples[2]!, 'total');
    const size = statSync(image).size;
    console.log(
      `flash   ratio dd / xenbuild flash: ${(ddMs / bm.total).toFixed(1)}x (all of flash(): release checks, bmaptool, read-back), ${(ddMs / bm.write).toFixed(1)}x writing only (as dd does)`,
    );
    // On a card the bytes written dominate; this disk (page cache, then ~1 GB/s) leaves mostly fixed costs.
    // The projection adds the card's transfer times to everything measured here (so the host's own costs are counted twice, not zero times).
    const card = { write: 20e6, read: 40e6 };
    const ddCard = size / card.write;
    const bmWrite = bm.bytes / card.write + bm.write / 1000;
    const bmAll = bm.total / 1000 + bm.bytes / card.write + bm.bytes / card.read;
    console.log(
      `model   at SD-card speed (${card.write / 1e6} MB/s write, ${card.read / 1e6} MB/s read; a projection from the bytes, not a measurement): ` +
        `dd ${ddCard.toFixed(0)} s, xenbuild flash ${bmAll.toFixed(1)} s (${bmWrite.toFixed(1)} s of it writing): ${(ddCard / bmWrite).toFixed(1)}x writing, ${(ddCard / bmAll).toFixed(1)}x all of flash()`,
    );
    if (values.keep) console.log(`kept ${base}`);
  } finally {
    if (!values.keep) rmSync(base, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
