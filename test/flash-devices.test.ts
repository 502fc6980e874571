import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devicesCommand } from '../src/commands/devices.js';
import { listDisks, listRemovableDisks, parseMounts } from '../src/flash/devices.js';
import { checkTarget, FlashRefusal } from '../src/flash/target.js';
import { standardMachine, type FakeMachine } from './util/fake-sysfs.js';
import { makeTempDir, removeTempDirs } from './util/tmp.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const IMAGE = 1089 * MiB;

let m: FakeMachine;
let dev: (name: string) => string;

beforeAll(() => {
  m = standardMachine(makeTempDir('xenbuild-sysfs-'));
  dev = (name) => path.join(m.devRoot, name);
});
afterAll(removeTempDirs);

/** The refusal checkTarget throws. */
function refusal(device: string, opts: { allowFile?: boolean; size?: number } = {}): { code: string; message: string } {
  try {
    checkTarget(device, opts.size ?? IMAGE, { ...m.env, allowFile: opts.allowFile ?? false });
  } catch (err) {
    if (err instanceof FlashRefusal) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error(`${device} was accepted`);
}

describe('listing disks', () => {
  it('parses the mount table with its escapes', () => {
    expect(parseMounts('/dev/sdc1 /media/u/my\\040card vfat rw 0 0\nproc /proc proc rw 0 0\n')).toEqual([
      { device: '/dev/sdc1', mountpoint: '/media/u/my card', fstype: 'vfat' },
      { device: 'proc', mountpoint: '/proc', fstype: 'proc' },
    ]);
  });

  it('lists the removable disks with size, model, partitions, labels, mounts and the root disk', () => {
    const disks = listRemovableDisks(m.env);
    expect(disks.map((d) => d.name)).toEqual(['mmcblk0', 'sdb', 'sdc', 'sdd', 'sde']);
    const sdb = disks.find((d) => d.name === 'sdb')!;
    expect(sdb).toEqual({
      name: 'sdb',
      path: dev('sdb'),
      removable: true,
      sizeBytes: 4 * GiB,
      vendor: 'Generic',
      model: 'SD/MMC CRW',
      partitions: [
        { name: 'sdb1', path: dev('sdb1'), sizeBytes: 64 * MiB, label: 'BOOT', mountpoints: [] },
        { name: 'sdb2', path: dev('sdb2'), sizeBytes: GiB, label: 'root fs', mountpoints: [] },
      ],
      mounts: [],
      mounted: false,
      holdsRoot: false,
    });
    const sdc = disks.find((d) => d.name === 'sdc')!;
    expect(sdc.mounted).toBe(true);
    expect(sdc.partitions.map((p) => p.mountpoints)).toEqual([['/media/user/BOOT'], ['/media/user/root fs']]); // sdc2 via dm-1
    expect(disks.find((d) => d.name === 'sdd')).toMatchObject({ holdsRoot: true, rootDevice: '/dev/sdd2', mounted: true });
    expect(disks.find((d) => d.name === 'mmcblk0')).toMatchObject({ removable: true, model: 'SD02G', partitions: [] });
    expect(listDisks(m.env).find((d) => d.name === 'sda')).toMatchObject({ removable: false, holdsRoot: false });
  });

  it('finds the root disk by device number when the mount table says /dev/root', () => {
    const other = standardMachine(makeTempDir('xenbuild-sysfs-'), { rootDevNumber: '8:49' });
    other.setMounts([['/dev/root', '/', 'ext4']]);
    expect(
      listDisks(other.env)
        .filter((d) => d.holdsRoot)
        .map((d) => [d.name, d.rootDevice]),
    ).toEqual([['sdd', path.join(other.devRoot, 'sdd1')]]);
  });

  it('xenbuild devices prints one line per removable disk', async () => {
    const lines: string[] = [];
    expect(await devicesCommand({ env: m.env, print: (l) => lines.push(l) })).toBe(0);
    const w = dev('mmcblk0').length;
    const row = (d: string, size: string, model: string, state: string) => `${d.padEnd(w)}  ${size.padEnd(7)}  ${model.padEnd(21)}  ${state}`;
    expect(lines).toEqual([
      row('DEVICE', 'SIZE', 'MODEL', 'STATE'),
      row(dev('mmcblk0'), '2 GiB', 'SD02G', 'not mounted'),
      row(dev('sdb'), '4 GiB', 'Generic SD/MMC CRW', 'not mounted'),
      row(dev('sdc'), '8 GiB', 'Kingston DataTraveler', 'mounted on /media/user/BOOT, /media/user/root fs'),
      row(dev('sdd'), '16 GiB', 'SanDisk Cruzer', 'holds / (the running system, on /dev/sdd2)'),
      row(dev('sde'), '256 MiB', 'Generic Tiny Card', 'not mounted'),
    ]);
    const empty = standardMachine(makeTempDir('xenbuild-sysfs-'));
    const none: string[] = [];
    await devicesCommand({ env: { ...empty.env, sysRoot: path.join(empty.sysRoot, 'nothing') }, print: (l) => none.push(l) });
    expect(none).toEqual(['no removable disks found: insert the SD card (a built-in reader shows up as /dev/mmcblkN)']);
  });
});

describe('checkTarget', () => {
  it('accepts the removable, unmounted, big enough card, also through a /dev/disk/by-id link', () => {
    expect(checkTarget(dev('sdb'), IMAGE, m.env)).toMatchObject({ kind: 'disk', path: dev('sdb'), disk: { name: 'sdb' } });
    const byId = path.join(m.devRoot, 'disk/by-id/usb-Generic_SD_MMC_CRW-0:0');
    expect(checkTarget(byId, IMAGE, m.env)).toMatchObject({ kind: 'disk', disk: { name: 'sdb' } });
  });

  it('refuses a regular file or a new path without --allow-file, and accepts them with it', () => {
    const file = path.join(m.devRoot, '..', 'card.img');
    writeFileSync(file, 'old');
    expect(refusal(file)).toEqual({
      code: 'not-block-device',
      message: `${file} is not a block device but a regular file. To write the image into a file, pass --allow-file; to write a card, run "xenbuild devices" to list the removable disks.`,
    });
    expect(refusal('/nonexistent/sdz').message).toBe(
      '/nonexistent/sdz is not a block device (it does not exist). To write the image into a file, pass --allow-file; to write a card, run "xenbuild devices" to list the removable disks.',
    );
    expect(checkTarget(file, IMAGE, { ...m.env, allowFile: true })).toEqual({ kind: 'file', path: file, exists: true, size: 3 });
    expect(checkTarget(`${file}.new`, IMAGE, { ...m.env, allowFile: true })).toEqual({ kind: 'file', path: `${file}.new`, exists: false, size: 0 });
  });

  it('refuses a directory even with --allow-file', () => {
    expect(refusal(m.devRoot, { allowFile: true })).toEqual({
      code: 'not-block-device',
      message: `${m.devRoot} is not a block device but a directory; run "xenbuild devices" to list the removable disks.`,
    });
  });

  it('refuses a partition, naming the whole disk', () => {
    expect(refusal(dev('sdb1'))).toEqual({
      code: 'partition',
      message: `${dev('sdb1')} is a partition of ${dev('sdb')}, not a whole disk: give ${dev('sdb')} (the image brings its own partition table).`,
    });
  });

  it('refuses a fixed disk', () => {
    expect(refusal(dev('sda'))).toEqual({
      code: 'not-removable',
      message: `${dev('sda')} (ATA Samsung SSD 870, 64 GiB) is not a removable disk (${m.sysRoot}/block/sda/removable is 0): xenbuild writes only to removable media such as SD cards; run "xenbuild devices" to list the removable disks.`,
    });
  });

  it('refuses a disk with mounted partitions, naming them and the umount command', () => {
    expect(refusal(dev('sdc'))).toEqual({
      code: 'mounted',
      message: `${dev('sdc')} (Kingston DataTraveler, 8 GiB) is in use: /dev/sdc1 is mounted on /media/user/BOOT, /dev/mapper/secret is mounted on /media/user/root fs. Unmount them first: umount /media/user/BOOT '/media/user/root fs'`,
    });
  });

  it('refuses the disk holding the running root file system', () => {
    expect(refusal(dev('sdd'))).toEqual({
      code: 'holds-root',
      message: `${dev('sdd')} (SanDisk Cruzer, 16 GiB) holds the root file system of the running system (/ is on /dev/sdd2): refusing to overwrite it; run "xenbuild devices" to list the removable disks.`,
    });
  });

  it('refuses a disk smaller than the image', () => {
    expect(refusal(dev('sde'))).toEqual({
      code: 'too-small',
      message: `${dev('sde')} (Generic Tiny Card, 256 MiB) is too small: it holds 256 MiB (268435456 bytes), the image needs 1089 MiB (1141899264 bytes). Use a card of at least 1089 MiB.`,
    });
  });

  it('refuses a block device that is not a disk sysfs knows', () => {
    const env = { ...m.env, isBlockDevice: () => true };
    expect(() => checkTarget(path.join(m.devRoot, 'dm-1'), IMAGE, env)).toThrow(`is a block device but not a disk listed in ${m.sysRoot}/block`);
  });
});
