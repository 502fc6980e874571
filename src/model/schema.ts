import { z } from 'zod';
import { MILESTONE_PRESET_NAMES } from './boot.js';
import { NAME_PATTERN } from './names.js';

/**
 * The recipe and board formats. This file is the single source of truth: the
 * validator uses these schemas and `npm run build` emits the JSON Schemas in
 * schema/ from them, so editors complete and check the same rules.
 *
 * Convention for unions of objects: the first key of each option is the key
 * that tells the options apart (`git:` vs `tarball:`, `run:` vs `make:`); the
 * diagnostics use it to report the errors of the option the user meant.
 */

const name = z.string().regex(NAME_PATTERN, 'must be lower-case letters, digits, ".", "_" or "-", starting with a letter or digit');

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const variables = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'is not a valid variable name'), scalar);

/**
 * A git URL xenbuild may hand to git: a transport it knows (https, http, git,
 * ssh, file), scp-like host:path, or a path. Never an option ("--upload-pack=…"),
 * a remote helper ("ext::sh -c …", "fd::"), or an ssh host that is an option
 * ("ssh://-oProxyCommand=…"): git would run them.
 */
const gitUrl = z
  .string()
  .min(1)
  .refine((url) => !url.startsWith('-'), 'must not start with "-": git would read it as an option')
  .refine(
    (url) => !/^[A-Za-z][A-Za-z0-9+.-]*::/.test(url),
    'must not name a git remote helper ("ext::", "fd::"…): use https://, git://, ssh://, file:// or a path',
  )
  .refine((url) => {
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
    return scheme === undefined || ['https', 'http', 'git', 'ssh', 'git+ssh', 'ssh+git', 'file'].includes(scheme);
  }, 'uses a transport xenbuild does not fetch with: use https://, git://, ssh://, file:// or a path')
  .refine(
    (url) => !/^[A-Za-z][A-Za-z0-9+.-]*:\/\/(?:[^@/]*@)?-/.test(url) && !/^[^@/:]*@-[^/:]*:/.test(url),
    'names a host that starts with "-": ssh would read it as an option',
  )
  .refine((url) => !/[\0\r\n]/.test(url), 'must be one line');

const gitSource = z.strictObject({
  git: gitUrl.describe('Repository URL (https://, git://, ssh://, file://, host:path or a path)'),
  ref: z.string().min(1).optional().describe('Tag or branch that must still resolve to `commit`'),
  commit: z
    .string()
    .regex(/^[0-9a-f]{40}$/, 'must be a full 40-digit lower-case hex commit id')
    .describe('The pinned commit'),
});

const tarballSource = z.strictObject({
  tarball: z.string().min(1).describe('URL or path of a .tar, .tar.gz, .tar.xz or .tar.zst archive'),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits')
    .describe('sha256 of the archive'),
  strip: z.number().int().min(0).optional().describe('Leading path components to strip (default 1)'),
  unpack: z
    .boolean()
    .optional()
    .describe('false: keep the archive whole in the source tree, under its file name (a root file system tarball for an ext4 partition)'),
});

const debianVersion = z.string().regex(/^(?:[0-9]+:)?[0-9][A-Za-z0-9.+~-]*$/, 'must be an exact Debian version such as 4.17.5+72-g01140da4e8-1');
const sha256Pin = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits');

const debianSource = z.strictObject({
  'debian-source': z
    .string()
    .regex(/^[a-z0-9][a-z0-9+.-]+$/, 'must be a Debian source package name')
    .describe("A Debian source package, unpacked with Debian's patches applied"),
  version: debianVersion,
  sha256: sha256Pin.optional().describe('sha256 of the .dsc'),
});

const debianBinary = z.strictObject({
  'debian-binary': z
    .string()
    .regex(/^[a-z0-9][a-z0-9+.-]+$/, 'must be a Debian package name')
    .describe('A Debian binary package, unpacked with dpkg-deb -x'),
  version: debianVersion,
  arch: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/)
    .optional()
    .describe('Debian architecture (default armhf)'),
  sha256: sha256Pin.optional().describe('sha256 of the .deb'),
});

/** Where a component's source comes from. New kinds are added here. */
const debianPackages = z.strictObject({
  'debian-packages': z
    .record(z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/, 'must be a Debian package name'), debianVersion)
    .refine((p) => Object.keys(p).length > 0, 'must name at least one package')
    .describe('Debian binary packages, name → exact version, unpacked together with dpkg-deb -x (a root from Debian packages)'),
  arch: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/)
    .optional()
    .describe('Debian architecture (default armhf)'),
});

const source = z.union([gitSource, tarballSource, debianSource, debianBinary, debianPackages]);

const patches = z.array(z.string().min(1)).describe('Patch files or directories (every *.patch / *.diff inside, by name), relative to the project root');

const versionEntry = z.strictObject({
  source,
  patches: patches.optional(),
  variables: variables.optional(),
});

const taskCommon = {
  description: z.string().optional(),
  after: z.array(z.string().min(1)).optional().describe('Tasks that must finish first: "configure" (same recipe) or "toolchain:fetch"'),
  cwd: z.string().optional().describe('Working directory, relative to the source tree'),
  env: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'is not an environment variable name (letters, digits and "_", not starting with a digit; never "=")'),
      scalar,
    )
    .optional()
    .describe('Environment variables laid over a clean environment'),
  inputs: z.array(z.string().min(1)).optional().describe('Project files the task reads (config fragments, scripts), hashed for freshness'),
  outputs: z.array(z.string().min(1)).optional().describe('Files the task produces, relative to the source tree'),
};

const runTask = z.strictObject({
  run: z
    .array(scalar)
    .min(1)
    .refine((argv) => String(argv[0]).trim() !== '', 'must start with the program to run, not an empty string')
    .describe('argv: program and arguments; never run through a shell'),
  ...taskCommon,
  jobs: z.enum(['one', 'shared']).optional().describe('"shared": the task takes a share of --jobs, as ${jobs}'),
});

const makeTask = z.strictObject({
  make: z.array(scalar).describe("Arguments to make; xenbuild adds -j with the task's share of --jobs"),
  ...taskCommon,
});

const busyboxRootTask = z.strictObject({
  'busybox-root': z.strictObject({
    busybox: z.string().min(1).describe('The statically linked busybox binary'),
    init: z.string().min(1).describe('A project file: the script run as /init (initramfs) or /sbin/init (root)'),
    modules: z
      .strictObject({
        dir: z.string().min(1).describe('lib/modules/<version> of the kernel'),
        load: z.array(z.string().min(1)).min(1).describe('Modules to load, by name; what they depend on is read from the modules (modinfo) and added first'),
      })
      .optional(),
    trees: z
      .array(z.string().min(1))
      .optional()
      .describe('Directories copied into the root, in order, links kept as links (a tree of unpacked Debian packages: "${xen-tools.srcdir}")'),
    files: z
      .array(z.strictObject({ from: z.string().min(1), to: z.string().min(1).describe('Its path in the root, such as guest/vmlinuz') }))
      .optional()
      .describe('Single files copied into the root'),
    cpio: z.string().min(1).optional().describe('Output: a gzip-compressed newc cpio archive (an initramfs)'),
    tar: z.string().min(1).optional().describe('Output: a tarball of the root, every file owned by root'),
  }),
  ...taskCommon,
});

const kconfigTask = z.strictObject({
  kconfig: z
    .strictObject({
      config: z.string().min(1).describe('The .config the tree writes, relative to the source tree ("xen/.config", "${builddir}/.config")'),
      defconfig: z.array(scalar).min(1).describe('Arguments to make that write the base .config ("defconfig", "qemu_arm_defconfig")'),
      fragments: z
        .array(scalar)
        .describe('Project files whose CONFIG_ lines are laid over it in order; an entry that is empty once its variables are filled in is none'),
      olddefconfig: z.array(scalar).min(1).describe('Arguments to make that resolve what the fragments imply ("olddefconfig")'),
    })
    .describe('Configure a Kconfig tree: defconfig, the fragments, olddefconfig; each fragment setting must hold'),
  ...taskCommon,
});

/** One task of a recipe. New action kinds are added here. */
const task = z.union([runTask, makeTask, busyboxRootTask, kconfigTask]);

export const recipe = z.strictObject({
  recipe: name.describe('The recipe name; must equal the file name'),
  description: z.string().optional(),
  tools: z
    .record(
      z.string(),
      z.union([
        z.string().describe('The Debian package that provides it'),
        z.strictObject({
          package: z.string().describe('The Debian package that provides it'),
          freestanding: z
            .literal(true)
            .optional()
            .describe('A C compiler this recipe uses for freestanding code only (a hypervisor, a kernel, a boot loader): doctor checks it without a C library'),
        }),
      ]),
    )
    .optional()
    .describe('Host programs the recipe runs, each with the Debian package that provides it'),
  variables: variables.optional().describe('Defaults for ${name}; boards may override them'),
  source: source.optional(),
  patches: patches.optional(),
  versions: z.record(z.string().min(1), versionEntry).optional(),
  'default-version': z.string().optional(),
  tasks: z.record(name, task).optional(),
  exports: z.record(z.string().min(1), z.string().min(1)).optional().describe('Artifacts copied into deploy/: name → a declared output of one of the tasks'),
});

const componentRef = z.union([
  z.string().regex(/^[a-z0-9][a-z0-9._-]*(@[^@\s]+)?$/, 'must be "recipe" or "recipe@version", the recipe name in lower-case letters, digits, ".", "_" or "-"'),
  z.strictObject({
    recipe: name,
    version: z.string().optional(),
    variables: variables.optional(),
  }),
]);

const components = z.record(name, componentRef).describe('Component name → recipe (and version) the board uses');

/** An address: a number, or hex as written (0x80200000). */
const address = z.union([z.number().int().nonnegative(), z.string().regex(/^0x[0-9a-fA-F]+$/, 'must be a hex address such as 0x80200000')]);
/** A size: bytes, hex, or with a K/M/G suffix (1024-based): 1536M. */
const size = z.union([
  z.number().int().positive(),
  z.string().regex(/^(0x[0-9a-fA-F]+|[0-9]+[KMG]?)$/, 'must be a size such as 4096, 0x20000, 64K, 128M or 2G'),
]);
const range = z.strictObject({ start: address, size });
const artifactName = z.string().min(1).describe('An artifact a component exports (its name in deploy/)');

const memorySection = z.strictObject({
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

const xenSection = z.strictObject({
  artifact: artifactName.describe('The Xen binary a component exports'),
  image: z.enum(['uimage', 'zimage']).describe('uimage: wrapped by mkimage -T kernel for bootm; zimage: booted as is with bootz'),
  load: address.optional().describe('Load address; planned when absent'),
  bootargs: z.string().describe('Xen command line (/chosen xen,xen-bootargs)'),
  hyp: z.enum(['u-boot-patch', 'xen-fallback', 'firmware']).optional().describe('How every core enters HYP mode'),
});

const dom0Section = z.strictObject({
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
const dtFixup = z.union([
  z.strictObject({ set: z.strictObject({ path: nodePath, prop: z.string().min(1), ...dtValue }) }),
  z.strictObject({ delete: z.strictObject({ path: nodePath, prop: z.string().min(1).optional() }) }),
  z.strictObject({ enable: nodePath }),
  z.strictObject({ disable: nodePath }),
  z.strictObject({ 'add-node': nodePath }),
  z.strictObject({ 'prune-reserved-memory': z.literal('outside-dom0') }),
]);

const dtbSection = z.strictObject({
  artifact: artifactName.optional().describe('The DTB a component exports; absent when the firmware provides it'),
  mode: z.enum(['bake', 'runtime']).optional().describe('bake (default): edit the DTB at build time; runtime: fdt commands in the boot script'),
  'grow-room': size.optional().describe('Room left after the DTB for U-Boot to grow it (default 64K)'),
  fixups: z.array(dtFixup).optional(),
});

const bootSection = z.strictObject({
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

const imageSection = z.strictObject({
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

const domu = z.strictObject({
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

const qemuSection = z.strictObject({
  command: z.array(z.string()).min(1).describe('argv of the emulator; ${image}, ${deploydir}, ${smp} and ${memory} are filled in when it starts'),
  timeout: z.number().positive().optional().describe('Seconds before the boot counts as hung (default 120)'),
  smp: z.number().int().positive().optional().describe('CPUs (default 1)'),
  memory: z.number().int().positive().optional().describe("The emulated machine's RAM in MiB, ${memory} (default: the board's memory.ram)"),
  milestones: z
    .array(z.union([milestone, z.enum(MILESTONE_PRESET_NAMES).describe("A named list: xen-ci, the criteria of Xen's own CI")]))
    .min(1)
    .describe('What the consoles show, in order on each; the boot succeeds when every required one appears'),
});

const profile = z.strictObject({
  description: z.string().optional(),
  extends: name.optional().describe('Another profile of the board, laid first: this one says only what differs from it'),
  components: components.optional(),
  variables: variables.optional(),
  memory: memorySection.partial().optional().describe("Keys laid over the board's memory section"),
  xen: xenSection.partial().optional().describe("Keys laid over the board's xen section"),
  dom0: dom0Section.partial().optional().describe("Keys laid over the board's dom0 section"),
  dtb: dtbSection.partial().optional().describe("Keys laid over the board's dtb section"),
  boot: bootSection.partial().optional().describe("Keys laid over the board's boot section"),
  image: imageSection.partial().optional().describe("Keys laid over the board's image section"),
  qemu: qemuSection.partial().optional().describe("Keys laid over the board's qemu section"),
  domus: z.array(domu).optional().describe("The dom0less guests, instead of the board's"),
});

export const board = z.strictObject({
  board: name.describe('The board name; must equal the file name'),
  description: z.string().optional(),
  components,
  variables: variables.optional().describe('Board variables, ${board.name} in recipes'),
  profiles: z.record(name, profile).optional(),
  'default-profile': z.string().optional(),
  memory: memorySection.optional(),
  xen: xenSection.optional(),
  dom0: dom0Section.optional(),
  dtb: dtbSection.optional(),
  boot: bootSection.optional(),
  image: imageSection.optional(),
  domus: z.array(domu).optional().describe('dom0less guests: Xen boots each from its own modules beside dom0'),
  qemu: qemuSection.optional(),
});

export type Recipe = z.infer<typeof recipe>;
export type Board = z.infer<typeof board>;
export type Task = z.infer<typeof task>;
export type GitSourceSpec = z.infer<typeof gitSource>;
export type TarballSourceSpec = z.infer<typeof tarballSource>;
export type Scalar = z.infer<typeof scalar>;
export type DtFixupSpec = z.infer<typeof dtFixup>;
export type DebianSourceSpecYaml = z.infer<typeof debianSource>;
export type DebianBinarySpecYaml = z.infer<typeof debianBinary>;
export type DebianPackagesSpecYaml = z.infer<typeof debianPackages>;
