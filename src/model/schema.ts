import { z } from 'zod';
import { bootSection, dom0Section, domu, dtbSection, dtFixup, imageSection, memorySection, qemuSection, xenSection } from './board-sections.js';
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

/** Where a component's source comes from. New kinds are added here. */
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
