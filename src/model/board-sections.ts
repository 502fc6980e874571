/**
 * The schema of a board's boot sections (memory, xen, dom0, dtb, boot, image,
 * domus, qemu): what model/schema.ts composes into a board and its profiles.
 */
import { z } from 'zod';
import { MILESTONE_PRESET_NAMES } from './boot.js';

/** An address: a number, or hex as written (0x80200000). */
const address = z.union([z.number().int().nonnegative(), z.string().regex(/^0x[0-9a-fA-F]+$/, 'must be a hex address such as 0x80200000')]);
/** A size: bytes, hex, or with a K/M/G suffix (1024-based): 1536M. */
const size = z.union([
  z.number().int().positive(),
  z.string().regex(/^(0x[0-9a-fA-F]+|[0-9]+[KMG]?)$/, 'must be a size such as 4096, 0x20000, 64K, 128M or 2G'),
]);
const range = z.strictObject({ start: address, size });
const artifactName = z.string().min(1).describe('An artifact a component exports (its name in deploy/)');

export const memorySection = z.strictObject({
  ram: z.array(range).min(1).describe('RAM banks'),
  align: size.optional().describe('Alignment of planned load addresses (default 2M)'),
  reserved: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        start: address,
        size,
        'loader-only': z.boolean().optional().describe('Held only while U-Boot runs (its relocated copy): Xen may later use it'),
      }),
    )
    .optional()
    .describe('Regions nothing may be loaded into'),
});

export const xenSection = z.strictObject({
  artifact: artifactName.describe('The Xen binary a component exports'),
  image: z.enum(['uimage', 'zimage']).describe('uimage: wrapped by mkimage -T kernel for bootm; zimage: booted as is with bootz'),
  load: address.optional().describe('Load address; planned when absent'),
  bootargs: z.string().describe('Xen command line (/chosen xen,xen-bootargs)'),
  hyp: z.enum(['u-boot-patch', 'xen-fallback', 'firmware']).optional().describe('How every core enters HYP mode'),
});

export const dom0Section = z.strictObject({
  kernel: artifactName.describe('The dom0 kernel (zImage) a component exports'),
  initrd: artifactName.optional(),
  bootargs: z.string().describe('dom0 command line (/chosen xen,dom0-bootargs)'),
  load: address.optional(),
  'initrd-load': address.optional(),
  memory: z.array(range).optional().describe("dom0's memory when known (Xen maps it 1:1), for the checks and the picture"),
  config: artifactName.optional().describe("The kernel's built .config, for the kernel-config checks"),
  lpae: z.boolean().optional().describe('The board needs an LPAE kernel'),
});

const dtValue = {
  cells: z.array(z.union([z.number().int().nonnegative(), z.string().regex(/^0x[0-9a-fA-F]+$/)])).optional(),
  strings: z.array(z.string()).optional(),
  string: z.string().optional(),
  u32: z.union([z.number().int().nonnegative(), z.string().regex(/^0x[0-9a-fA-F]+$/)]).optional(),
  empty: z.literal(true).optional(),
  phandle: z
    .string()
    .regex(/^\//, 'must be an absolute node path such as /interrupt-controller@48211000')
    .optional()
    .describe('The phandle of this node, read from the DTB (interrupt-parent = <&gic>); bake mode only'),
};
const nodePath = z.string().regex(/^\//, 'must be an absolute node path such as /timer');
export const dtFixup = z.union([
  z.strictObject({ set: z.strictObject({ path: nodePath, prop: z.string().min(1), ...dtValue }) }),
  z.strictObject({ delete: z.strictObject({ path: nodePath, prop: z.string().min(1).optional() }) }),
  z.strictObject({ enable: nodePath }),
  z.strictObject({ disable: nodePath }),
  z.strictObject({ 'add-node': nodePath }),
  z.strictObject({ 'prune-reserved-memory': z.literal('outside-dom0') }),
]);

export const dtbSection = z.strictObject({
  artifact: artifactName.optional().describe('The DTB a component exports; absent when the firmware provides it'),
  mode: z.enum(['bake', 'runtime']).optional().describe('bake (default): edit the DTB at build time; runtime: fdt commands in the boot script'),
  'grow-room': size.optional().describe('Room left after the DTB for U-Boot to grow it (default 64K)'),
  fixups: z.array(dtFixup).optional(),
});

export const bootSection = z.strictObject({
  firmware: z.enum(['u-boot', 'u-boot-2014']).describe('u-boot: boot.scr; u-boot-2014: uEnv.txt with uenvcmd (TI GLSDK 2014.07)'),
  medium: z.string().regex(/^[a-z]+ [0-9]+:[0-9]+$/, 'must be "<interface> <dev>:<part>" such as "mmc 0:1"'),
  command: z.enum(['bootm', 'bootz', 'booti']),
  env: z.strictObject({ size, redundant: z.boolean().optional() }).optional().describe('Also make a binary environment with mkenvimage'),
  'fdt-addr': address.optional().describe('runtime mode: where the firmware put its DTB (default ${fdt_addr})'),
  setup: z
    .array(z.string().min(1))
    .optional()
    .describe('U-Boot commands run first, one each (e.g. mw.w 0x4a002acc 0x43: a register Xen needs programmed before it starts)'),
});

const imageFile = z.union([
  z.string().min(1).describe('An artifact: a boot file xenbuild made (deploy/boot/) or one a component exports'),
  z.strictObject({ artifact: z.string().min(1), as: z.string().min(1).describe('Its name on the partition') }),
]);

const partitionSpec = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, "_" or "-"'),
  type: z.enum(['fat32', 'fat16', 'ext4', 'raw']),
  size,
  offset: size.optional(),
  bootable: z.boolean().optional(),
  label: z.string().optional(),
  files: z.array(imageFile).optional().describe('fat: files copied in this order (TI ROM wants MLO first)'),
  from: z
    .string()
    .min(1)
    .optional()
    .describe('ext4: the artifact holding the contents: a root file system tarball (.tar, .tar.gz/.xz/.zst/.bz2, .tgz) or a directory'),
  image: z.string().min(1).optional().describe('raw: an artifact written as the partition'),
});

export const imageSection = z.strictObject({
  table: z.enum(['mbr', 'gpt']).optional().describe('Partition table (default mbr)'),
  compress: z.enum(['zst', 'xz']).optional().describe('Compressed copy of the image (default zst)'),
  'compress-level': z
    .number()
    .int()
    .min(1)
    .max(19)
    .optional()
    .describe('zstd 1–19 (default 10: -19 is about 3 times slower for 2% less) or xz 1–9 (default 6)'),
  partitions: z.array(partitionSpec).min(1),
});

export const domu = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_-]{0,30}$/, 'must be a device-tree node name such as domU0 (letters, digits, _ and -)')
    .describe("The guest's node under /chosen, and its name in plans and logs"),
  kernel: z.string().min(1).describe("The artifact Xen boots as the guest's kernel"),
  ramdisk: z.string().min(1).optional().describe('The artifact loaded as its ramdisk'),
  memory: size.describe('Its RAM (128M); Xen takes it from its heap at boot'),
  vcpus: z.number().int().positive().optional().describe('Virtual CPUs (default 1)'),
  bootargs: z.string().optional().describe("The guest kernel's command line"),
  vpl011: z.boolean().optional().describe('An emulated PL011 console (default true), printed by Xen as "(XEN) DOMn: …"; console=ttyAMA0 needs it'),
});

const milestone = z.strictObject({
  name: z.string().min(1),
  match: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .describe('Text a console line contains when the milestone is reached; with a list, any of them'),
  timeout: z.number().positive().optional().describe('Seconds allowed after the milestone before it on the same console (after the start for the first)'),
  optional: z.boolean().optional().describe('Not every image prints it (a boot script another tool wrote): missing it is no failure'),
  domain: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('A dom0less domain whose console prints it (Xen relays it as "(XEN) DOMn: …"); default: the host console'),
});

export const qemuSection = z.strictObject({
  command: z.array(z.string()).min(1).describe('argv of the emulator; ${image}, ${deploydir}, ${smp} and ${memory} are filled in when it starts'),
  timeout: z.number().positive().optional().describe('Seconds before the boot counts as hung (default 120)'),
  smp: z.number().int().positive().optional().describe('CPUs (default 1)'),
  memory: z.number().int().positive().optional().describe("The emulated machine's RAM in MiB, ${memory} (default: the board's memory.ram)"),
  milestones: z
    .array(z.union([milestone, z.enum(MILESTONE_PRESET_NAMES).describe("A named list: xen-ci, the criteria of Xen's own CI")]))
    .min(1)
    .describe('What the consoles show, in order on each; the boot succeeds when every required one appears'),
});
