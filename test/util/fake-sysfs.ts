import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DeviceEnv } from '../../src/flash/devices.js';

/**
 * A fake machine for the flash code: /sys/block, a mount table and a /dev
 * whose "block devices" are small regular files (the env's isBlockDevice says
 * which). Nothing in it is a real device, so tests can write to them.
 */
interface FakeDisk {
  name: string;
  sizeBytes: number;
  removable: boolean;
  vendor?: string;
  model?: string;
  /** mmc only: device/type ("SD" or "MMC"). */
  type?: string;
  /** "MAJ:MIN". */
  dev?: string;
  partitions?: { name: string; sizeBytes: number; label?: string; dev?: string; holders?: string[] }[];
}

export interface FakeMachine {
  env: DeviceEnv;
  devRoot: string;
  sysRoot: string;
  mountsPath: string;
  /** Adds a disk to /sys/block and its device files to /dev. */
  addDisk(disk: FakeDisk): void;
  /** Replaces the mount table (`device mountpoint fstype` per entry). */
  setMounts(entries: [string, string, string][]): void;
}

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** An empty fake machine under `base`. */
function createFakeMachine(base: string, opts: { rootDevNumber?: string | null } = {}): FakeMachine {
  const sysRoot = path.join(base, 'sys');
  const devRoot = path.join(base, 'dev');
  const mountsPath = path.join(base, 'mounts');
  const blockDevices = new Set<string>();
  mkdirSync(path.join(sysRoot, 'block'), { recursive: true });
  mkdirSync(path.join(devRoot, 'disk', 'by-label'), { recursive: true });
  mkdirSync(path.join(devRoot, 'disk', 'by-id'), { recursive: true });
  writeFileSync(mountsPath, '');
  const file = (p: string, content: string) => {
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, content + '\n');
  };
  const device = (name: string) => {
    const p = path.join(devRoot, name);
    writeFileSync(p, '');
    blockDevices.add(realpathSync(p));
  };
  return {
    devRoot,
    sysRoot,
    mountsPath,
    env: {
      sysRoot,
      devRoot,
      mountsPath,
      rootDevNumber: opts.rootDevNumber ?? null,
      isBlockDevice: (p) => {
        try {
          return blockDevices.has(realpathSync(p));
        } catch {
          return false;
        }
      },
    },
    addDisk(d) {
      const dir = path.join(sysRoot, 'block', d.name);
      file(path.join(dir, 'size'), String(d.sizeBytes / 512));
      file(path.join(dir, 'removable'), d.removable ? '1' : '0');
      if (d.dev) file(path.join(dir, 'dev'), d.dev);
      if (d.vendor) file(path.join(dir, 'device', 'vendor'), d.vendor.padEnd(8)); // sysfs pads these
      if (d.model) file(path.join(dir, 'device', d.type ? 'name' : 'model'), d.type ? d.model : d.model.padEnd(16)); // mmc has a name, not a model
      if (d.type) file(path.join(dir, 'device', 'type'), d.type);
      device(d.name);
      for (const p of d.partitions ?? []) {
        file(path.join(dir, p.name, 'partition'), p.name.replace(/^.*?(\d+)$/, '$1'));
        file(path.join(dir, p.name, 'size'), String(p.sizeBytes / 512));
        if (p.dev) file(path.join(dir, p.name, 'dev'), p.dev);
        mkdirSync(path.join(dir, p.name, 'holders'), { recursive: true });
        for (const h of p.holders ?? []) {
          mkdirSync(path.join(dir, p.name, 'holders', h));
          file(path.join(sysRoot, 'block', h, 'dev'), `254:${h.replace(/\D/g, '')}`);
        }
        if (p.label) symlinkSync(`../../${p.name}`, path.join(devRoot, 'disk', 'by-label', p.label.replace(/ /g, '\\x20')));
        device(p.name);
      }
    },
    setMounts(entries) {
      const esc = (s: string) => s.replace(/ /g, '\\040');
      writeFileSync(mountsPath, entries.map(([dev, mp, fs]) => `${esc(dev)} ${esc(mp)} ${fs} rw,relatime 0 0\n`).join(''));
    },
  };
}

/**
 * The machine the flash tests use:
 *   sdb      removable 4 GiB card reader, two partitions (BOOT, "root fs"), nothing mounted — the good target
 *   sda      fixed 64 GiB disk
 *   sdc      removable 8 GiB stick, both partitions mounted (one through LUKS: dm-1 on sdc2)
 *   sdd      removable 16 GiB stick holding `/` (sdd2)
 *   sde      removable 256 MiB card, too small
 *   mmcblk0  built-in SD reader: removable=0 but device/type "SD", 2 GiB, no partitions
 */
export function standardMachine(base: string, opts: { rootDevNumber?: string | null } = {}): FakeMachine {
  const m = createFakeMachine(base, opts);
  m.addDisk({
    name: 'sdb',
    sizeBytes: 4 * GiB,
    removable: true,
    vendor: 'Generic',
    model: 'SD/MMC CRW',
    dev: '8:16',
    partitions: [
      { name: 'sdb1', sizeBytes: 64 * MiB, label: 'BOOT', dev: '8:17' },
      { name: 'sdb2', sizeBytes: 1 * GiB, label: 'root fs', dev: '8:18' },
    ],
  });
  m.addDisk({
    name: 'sda',
    sizeBytes: 64 * GiB,
    removable: false,
    vendor: 'ATA',
    model: 'Samsung SSD 870',
    dev: '8:0',
    partitions: [{ name: 'sda1', sizeBytes: 64 * GiB - MiB, dev: '8:1' }],
  });
  m.addDisk({
    name: 'sdc',
    sizeBytes: 8 * GiB,
    removable: true,
    vendor: 'Kingston',
    model: 'DataTraveler',
    dev: '8:32',
    partitions: [
      { name: 'sdc1', sizeBytes: 64 * MiB, dev: '8:33' },
      { name: 'sdc2', sizeBytes: 4 * GiB, dev: '8:34', holders: ['dm-1'] },
    ],
  });
  m.addDisk({
    name: 'sdd',
    sizeBytes: 16 * GiB,
    removable: true,
    vendor: 'SanDisk',
    model: 'Cruzer',
    dev: '8:48',
    partitions: [
      { name: 'sdd1', sizeBytes: 256 * MiB, dev: '8:49' },
      { name: 'sdd2', sizeBytes: 15 * GiB, dev: '8:50' },
    ],
  });
  m.addDisk({ name: 'sde', sizeBytes: 256 * MiB, removable: true, vendor: 'Generic', model: 'Tiny Card', dev: '8:64' });
  m.addDisk({ name: 'mmcblk0', sizeBytes: 2 * GiB, removable: false, model: 'SD02G', type: 'SD', dev: '179:0' });
  symlinkSync('../../sdb', path.join(m.devRoot, 'disk', 'by-id', 'usb-Generic_SD_MMC_CRW-0:0'));
  mkdirSync(path.join(m.devRoot, 'mapper'));
  writeFileSync(path.join(m.devRoot, 'dm-1'), '');
  symlinkSync('../dm-1', path.join(m.devRoot, 'mapper', 'secret'));
  m.setMounts([
    ['/dev/sdd2', '/', 'ext4'],
    ['proc', '/proc', 'proc'],
    ['/dev/sdd1', '/boot', 'vfat'],
    ['/dev/sdc1', '/media/user/BOOT', 'vfat'],
    ['/dev/mapper/secret', '/media/user/root fs', 'ext4'],
  ]);
  return m;
}
