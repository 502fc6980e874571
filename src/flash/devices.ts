/**
 * The disks of this machine as sysfs and the mount table describe them: which
 * are removable, how big, what model, which partitions (and labels), what is
 * mounted from them, and which one holds the running root file system.
 *
 * Every root is injectable (DeviceEnv) so tests use a fake tree
 * (test/util/fake-sysfs.ts) and never look at, let alone touch, a real disk.
 *
 * A disk is /sys/block/<name>; its partitions are the subdirectories holding
 * a `partition` file (sdb1, mmcblk0p1, nvme0n1p2); device-mapper devices built
 * on it (LUKS, LVM) are listed in its and its partitions' `holders/`. It counts
 * as removable when `removable` is 1, or when it is an SD card in a built-in
 * reader (mmcblkN with device/type "SD", which the kernel reports as fixed).
 */
import { readFileSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface DeviceEnv {
  /** Default /sys. */
  sysRoot: string;
  /** Default /proc/self/mounts. */
  mountsPath: string;
  /** Default /dev. */
  devRoot: string;
  /** "MAJOR:MINOR" of the device `/` is on (default: from stat('/')); null: do not look. */
  rootDevNumber?: string | null;
  /** Whether a path is a block device (default: stat). */
  isBlockDevice?: (path: string) => boolean;
}

export interface Mount {
  device: string;
  mountpoint: string;
  fstype: string;
}

interface DiskPartition {
  name: string;
  /** `<devRoot>/<name>`. */
  path: string;
  sizeBytes: number;
  /** From <devRoot>/disk/by-label, when udev made the link. */
  label?: string;
  /** Where it (or a device-mapper device on it) is mounted. */
  mountpoints: string[];
}

export interface Disk {
  name: string;
  path: string;
  removable: boolean;
  sizeBytes: number;
  vendor?: string;
  model?: string;
  partitions: DiskPartition[];
  /** Every mount of the disk, its partitions or their holders. */
  mounts: Mount[];
  mounted: boolean;
  /** The root file system of the running system is on it. */
  holdsRoot: boolean;
  /** When holdsRoot: the device `/` is mounted from (as the mount table names it, or the disk or partition). */
  rootDevice?: string;
}

function defaultDeviceEnv(): DeviceEnv {
  return { sysRoot: '/sys', mountsPath: '/proc/self/mounts', devRoot: '/dev' };
}

/** `env` with the real roots filled in where it names none. */
export function deviceEnv(env: Partial<DeviceEnv> = {}): DeviceEnv {
  return { ...defaultDeviceEnv(), ...env };
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
};
const list = (path: string): string[] => {
  try {
    return readdirSync(path).sort();
  } catch {
    return [];
  }
};

/** The mount table: `device mountpoint fstype options …`, with its octal escapes (\040 for a space) decoded. */
export function parseMounts(text: string): Mount[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length >= 3)
    .map(([device, mountpoint, fstype]) => ({ device: unescape(device!), mountpoint: unescape(mountpoint!), fstype: fstype! }));
}

/** The kernel name (sdb1, dm-0) of a device path from the mount table, following /dev/disk/… and /dev/mapper links. */
function kernelName(device: string, env: DeviceEnv): string | undefined {
  if (!device.startsWith('/dev/')) return undefined;
  const inDev = join(env.devRoot, device.slice('/dev/'.length));
  let real = inDev;
  try {
    real = realpathSync(inDev);
  } catch {
    /* not in this /dev (e.g. /dev/root): keep the name */
  }
  const rel = relative(env.devRoot, real);
  return rel.startsWith('..') ? undefined : rel;
}

/** "MAJOR:MINOR" of the file system `/` is on. */
function rootDevNumber(): string | undefined {
  try {
    const dev = statSync('/', { bigint: true }).dev;
    const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
    const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
    return `${major}:${minor}`;
  } catch {
    return undefined;
  }
}

/** Labels by partition name, from the udev links <devRoot>/disk/by-label/<label> → ../../sdb1. */
function labels(env: DeviceEnv): Map<string, string> {
  const dir = join(env.devRoot, 'disk', 'by-label');
  const out = new Map<string, string>();
  for (const link of list(dir)) {
    try {
      const target = readlinkSync(join(dir, link));
      out.set(
        target.slice(target.lastIndexOf('/') + 1),
        link.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
      );
    } catch {
      /* not a link */
    }
  }
  return out;
}

/** One disk from /sys/block/<name>, with its mounts and whether it holds `/`; undefined if sysfs has no such disk. */
export function readDisk(name: string, env: DeviceEnv, mounts = readMounts(env)): Disk | undefined {
  const dir = join(env.sysRoot, 'block', name);
  const size = read(join(dir, 'size'));
  if (size === undefined) return undefined;
  const byLabel = labels(env);
  const partNames = list(dir).filter((p) => p.startsWith(name) && read(join(dir, p, 'partition')) !== undefined);
  // Everything whose mounts count as this disk's: itself, its partitions, device-mapper devices on them.
  const owner = new Map<string, string>(); // kernel name → the disk or partition it belongs to
  const numbers = new Map<string, string>(); // "MAJ:MIN" → that same owner
  for (const n of [name, ...partNames]) {
    const nDir = n === name ? dir : join(dir, n);
    owner.set(n, n);
    const dev = read(join(nDir, 'dev'));
    if (dev) numbers.set(dev, n);
    for (const h of list(join(nDir, 'holders'))) {
      owner.set(h, n);
      const hdev = read(join(env.sysRoot, 'block', h, 'dev'));
      if (hdev) numbers.set(hdev, n);
    }
  }
  const diskMounts = mounts.filter((m) => owner.has(kernelName(m.device, env) ?? ''));
  const mountsOf = (n: string) => diskMounts.filter((m) => owner.get(kernelName(m.device, env)!) === n).map((m) => m.mountpoint);
  const rootMount = [...mounts].reverse().find((m) => m.mountpoint === '/');
  const rootName = rootMount ? kernelName(rootMount.device, env) : undefined;
  const rootNumber = env.rootDevNumber === undefined ? rootDevNumber() : (env.rootDevNumber ?? undefined);
  let rootDevice: string | undefined;
  if (rootName !== undefined && owner.has(rootName)) rootDevice = rootMount!.device;
  else if (rootNumber !== undefined && numbers.has(rootNumber)) rootDevice = join(env.devRoot, numbers.get(rootNumber)!);
  const vendor = read(join(dir, 'device', 'vendor'));
  const model = read(join(dir, 'device', 'model')) ?? read(join(dir, 'device', 'name'));
  const sdCard = name.startsWith('mmcblk') && read(join(dir, 'device', 'type')) === 'SD';
  const disk: Disk = {
    name,
    path: join(env.devRoot, name),
    removable: read(join(dir, 'removable')) === '1' || sdCard,
    sizeBytes: Number(size) * 512,
    partitions: partNames.map((p) => {
      const part: DiskPartition = { name: p, path: join(env.devRoot, p), sizeBytes: Number(read(join(dir, p, 'size')) ?? 0) * 512, mountpoints: mountsOf(p) };
      const label = byLabel.get(p);
      if (label !== undefined) part.label = label;
      return part;
    }),
    mounts: diskMounts,
    mounted: diskMounts.length > 0,
    holdsRoot: rootDevice !== undefined,
  };
  if (vendor) disk.vendor = vendor;
  if (model) disk.model = model;
  if (rootDevice !== undefined) disk.rootDevice = rootDevice;
  return disk;
}

function readMounts(env: DeviceEnv): Mount[] {
  return parseMounts(read(env.mountsPath) ?? '');
}

/** Every disk sysfs lists, but RAM disks, loop and zram devices, and device-mapper devices. */
export function listDisks(partial: Partial<DeviceEnv> = {}): Disk[] {
  const env = deviceEnv(partial);
  const mounts = readMounts(env);
  return list(join(env.sysRoot, 'block'))
    .filter((n) => !/^(loop|ram|zram|dm-|md|sr|fd)\d/.test(n))
    .map((n) => readDisk(n, env, mounts))
    .filter((d): d is Disk => d !== undefined);
}

/** The disks an SD card image may go to: removable ones. */
export function listRemovableDisks(env: Partial<DeviceEnv> = {}): Disk[] {
  return listDisks(env).filter((d) => d.removable);
}

/** The partition `name` belongs to, if it is one: the disk's name. */
export function parentDisk(name: string, env: DeviceEnv): string | undefined {
  return list(join(env.sysRoot, 'block')).find((d) => read(join(env.sysRoot, 'block', d, name, 'partition')) !== undefined);
}
