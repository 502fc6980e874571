/**
 * Whether an image may be written to a device, and if not, why not and what
 * to do instead. Each refusal has its own code and one clear message:
 *
 *   not-block-device  neither a block device nor (with --allow-file) a regular file or a new path
 *   unknown-device    a block device sysfs does not list as a disk (a device-mapper device, …)
 *   partition         a partition rather than the whole disk
 *   not-removable     a fixed disk
 *   holds-root        the disk the running system's `/` is on
 *   mounted           a partition of it is mounted (the message names them and says `umount`)
 *   too-small         smaller than the image
 *
 * (flash.ts adds not-confirmed, bad-bmap and image-mismatch, all before writing.)
 */
import { shellQuote } from '../util/shell.js';
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import { storageSize } from '../util/units.js';
import type { BadRange } from './bmap.js';
import { deviceEnv, parentDisk, readDisk, type DeviceEnv, type Disk } from './devices.js';

export type RefusalCode =
  | 'not-block-device'
  | 'unknown-device'
  | 'partition'
  | 'not-removable'
  | 'holds-root'
  | 'mounted'
  | 'too-small'
  | 'not-confirmed'
  | 'bad-bmap'
  | 'image-mismatch';

/** flash refuses to write; nothing has been written. */
export class FlashRefusal extends Error {
  constructor(
    readonly code: RefusalCode,
    message: string,
  ) {
    super(message);
    this.name = 'FlashRefusal';
  }
}

/**
 * The target does not hold the image after writing: a range read back
 * differently (`bad`), or the image turned out not to match its bmap while it
 * was copied (`bad` empty). The message says where and what to do.
 */
export class FlashVerifyError extends Error {
  constructor(
    message: string,
    readonly bad: BadRange[],
  ) {
    super(message);
    this.name = 'FlashVerifyError';
  }
}

/** The image itself differs from its bmap (`why` says where): nothing is wrong with the target but what was written. */
export const imageMismatch = (image: string, target: string, why: string, bad: BadRange[] = []) =>
  new FlashVerifyError(`${image} does not match its bmap (${why}): rebuild the image and its bmap; ${target} now holds a partial image`, bad);

export type Target =
  /** A whole removable disk. */
  | { kind: 'disk'; path: string; disk: Disk }
  /** A regular file (or a path where one will be created), with --allow-file. */
  | { kind: 'file'; path: string; exists: boolean; size: number };

export interface TargetOptions extends Partial<DeviceEnv> {
  /** Accept a regular file or a path that does not exist yet (writing an image file). */
  allowFile?: boolean;
}

const DEVICES_HINT = 'run "xenbuild devices" to list the removable disks';

function what(path: string): 'absent' | 'file' | 'block' | 'directory' | 'character device' | 'special file' {
  try {
    lstatSync(path);
  } catch {
    return 'absent';
  }
  const s = statSync(path, { throwIfNoEntry: false });
  if (!s) return 'absent'; // a dangling symlink
  if (s.isFile()) return 'file';
  if (s.isBlockDevice()) return 'block';
  if (s.isDirectory()) return 'directory';
  if (s.isCharacterDevice()) return 'character device';
  return 'special file';
}

/** `size` in both forms people check: "3.7 GiB (3965190144 bytes)". */
export const sizeText = (bytes: number) => `${storageSize(bytes)} (${bytes} bytes)`;

/** The disk's name for people: "Generic SD/MMC CRW". */
export const diskModel = (d: Disk) => [d.vendor, d.model].filter(Boolean).join(' ') || 'unknown model';

/**
 * Checks that `device` may receive an image of `imageSize` bytes; returns
 * what it is, or throws FlashRefusal (see the file comment).
 */
export function checkTarget(device: string, imageSize: number, opts: TargetOptions = {}): Target {
  const env = deviceEnv(opts);
  const kind = what(device);
  const isBlock = kind !== 'absent' && (env.isBlockDevice ? env.isBlockDevice(device) : kind === 'block');
  if (!isBlock) {
    if (kind === 'absent' || kind === 'file') {
      if (opts.allowFile) return { kind: 'file', path: device, exists: kind === 'file', size: kind === 'file' ? statSync(device).size : 0 };
      throw new FlashRefusal(
        'not-block-device',
        `${device} is not a block device${kind === 'absent' ? ' (it does not exist)' : ' but a regular file'}. To write the image into a file, pass --allow-file; to write a card, ${DEVICES_HINT}.`,
      );
    }
    throw new FlashRefusal('not-block-device', `${device} is not a block device but a ${kind}; ${DEVICES_HINT}.`);
  }
  const name = relative(env.devRoot, realpathSync(device));
  const disk = name.startsWith('..') || name.includes('/') ? undefined : readDisk(name, env);
  if (!disk) {
    const parent = name.startsWith('..') ? undefined : parentDisk(name, env);
    if (parent !== undefined) {
      throw new FlashRefusal(
        'partition',
        `${device} is a partition of ${env.devRoot}/${parent}, not a whole disk: give ${env.devRoot}/${parent} (the image brings its own partition table).`,
      );
    }
    throw new FlashRefusal('unknown-device', `${device} is a block device but not a disk listed in ${env.sysRoot}/block; ${DEVICES_HINT}.`);
  }
  const label = `${device} (${diskModel(disk)}, ${storageSize(disk.sizeBytes)})`;
  if (!disk.removable) {
    throw new FlashRefusal(
      'not-removable',
      `${label} is not a removable disk (${env.sysRoot}/block/${disk.name}/removable is 0): xenbuild writes only to removable media such as SD cards; ${DEVICES_HINT}.`,
    );
  }
  if (disk.holdsRoot) {
    throw new FlashRefusal(
      'holds-root',
      `${label} holds the root file system of the running system (/ is on ${disk.rootDevice}): refusing to overwrite it; ${DEVICES_HINT}.`,
    );
  }
  if (disk.mounted) {
    const points = disk.mounts.map((m) => m.mountpoint);
    throw new FlashRefusal(
      'mounted',
      `${label} is in use: ${disk.mounts.map((m) => `${m.device} is mounted on ${m.mountpoint}`).join(', ')}. Unmount ${points.length > 1 ? 'them' : 'it'} first: umount ${points.map(shellQuote).join(' ')}`,
    );
  }
  if (disk.sizeBytes < imageSize) {
    throw new FlashRefusal(
      'too-small',
      `${label} is too small: it holds ${sizeText(disk.sizeBytes)}, the image needs ${sizeText(imageSize)}. Use a card of at least ${storageSize(imageSize)}.`,
    );
  }
  return { kind: 'disk', path: device, disk };
}
