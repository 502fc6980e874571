/**
 * Flashing: the public API of src/flash. The CLI entry points are
 * src/commands/flash.ts (flashCommand) and src/commands/devices.ts
 * (devicesCommand); wiring in cli.ts:
 *
 *   program.command('flash').requiredOption('--device <dev>').option('--yes').option('--allow-file')
 *     .action(async (o) => process.exitCode = await flashCommand({
 *        image: join(<deploy dir of --board>, 'sdcard.img'),   // the bmap is found next to it
 *        device: o.device, yes: o.yes, allowFile: o.allowFile }));
 *   program.command('devices').option('--json')
 *     .action(async (o) => process.exitCode = await devicesCommand({ json: o.json }));
 *
 * Everything that looks at the machine takes a DeviceEnv (sysRoot, mountsPath,
 * devRoot, rootDevNumber, isBlockDevice), so tests run on a fake tree.
 */
export { parseBmap, rangeBytes, mappedBytes, verifyRanges, BmapError, type Bmap, type BmapRange, type BadRange } from './bmap.js';
export { copyMappedRanges } from './copy.js';
export { defaultDeviceEnv, deviceEnv, kernelName, listDisks, listRemovableDisks, parseMounts, readDisk, type DeviceEnv, type Disk, type DiskPartition, type Mount } from './devices.js';
export { askOnStdin, describeFlash, flash, FlashVerifyError, type FlashOptions, type FlashResult } from './flash.js';
export { checkTarget, FlashRefusal, type RefusalCode, type Target, type TargetOptions } from './target.js';
