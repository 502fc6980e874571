/**
 * `xenbuild devices`: the removable disks an image can be flashed to, with
 * size, model and whether anything on them is mounted (or holds `/`).
 * Returns the exit status (always 0: finding no disk is an answer).
 */
import { listRemovableDisks, type DeviceEnv, type Disk } from '../flash/devices.js';
import { storageSize } from '../util/units.js';

export interface DevicesCommandOptions {
  /** Where to look (tests: a fake tree); default the real /sys, /proc/self/mounts, /dev. */
  env?: Partial<DeviceEnv>;
  /** Print the disks as JSON. */
  json?: boolean;
  /** Where the listing goes (default: stdout); each call is one line. */
  print?: (line: string) => void;
}

function state(d: Disk): string {
  if (d.holdsRoot) return `holds / (the running system, on ${d.rootDevice})`;
  if (d.mounted) return `mounted on ${d.mounts.map((m) => m.mountpoint).join(', ')}`;
  return 'not mounted';
}

export async function devicesCommand(opts: DevicesCommandOptions = {}): Promise<number> {
  const print = opts.print ?? ((line: string) => process.stdout.write(line + '\n'));
  const disks = listRemovableDisks(opts.env ?? {});
  if (opts.json) {
    print(JSON.stringify(disks, null, 2));
    return 0;
  }
  if (disks.length === 0) {
    print('no removable disks found: insert the SD card (a built-in reader shows up as /dev/mmcblkN)');
    return 0;
  }
  const rows = [
    ['DEVICE', 'SIZE', 'MODEL', 'STATE'],
    ...disks.map((d) => [d.path, storageSize(d.sizeBytes), [d.vendor, d.model].filter(Boolean).join(' ') || '-', state(d)]),
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows)
    print(
      r
        .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell))
        .join('  ')
        .trimEnd(),
    );
  return 0;
}
