/**
 * genimage's configuration for an image layout (see genimage's README.rst:
 * hdimage, vfat, ext4). Pure: the same layout always gives the same text.
 *
 * - The disk: `image <name>.img { hdimage { partition-table-type; align = 1M } partition … }`,
 *   one `partition` per layout partition, in order, each with `partition-type`
 *   (MBR: 0xC FAT32 LBA, 0xE FAT16 LBA, 0x83 Linux, 0xDA non-FS data) or
 *   `partition-type-uuid` (GPT: F basic data, L Linux file system), `bootable`,
 *   `offset` when given and `size`.
 * - FAT partitions: `image <part>.vfat { vfat { extraargs = "-F 32"; files = {…} } }`.
 *   genimage adds the vfat `file NAME { image = … }` sections first and the
 *   `files` list after them, one `mcopy` per file in order; so a list where every
 *   file keeps its name is written as `files`, and one with any renamed file as
 *   `file` sections only. Either way the declared order is the order on the
 *   partition (TI's ROM wants MLO as the first directory entry).
 * - ext4 partitions: `image <part>.ext4 { ext4 { use-mke2fs = true } srcpath = "…" }`,
 *   `empty = true` when it has no contents. `srcpath` (rather than rootpath +
 *   mountpoint) makes genimage read the tree where it is, without copying it.
 * - File-system images are `temporary` (built in tmppath): the only output is the disk.
 * - Identifiers are stable: the MBR disk signature (so PARTUUIDs, `<signature>-<nn>`),
 *   the GPT disk and partition UUIDs, FAT volume ids and ext4 UUIDs and hash
 *   seeds are derived from the image and partition names, not drawn at random,
 *   so a rebuilt card keeps them (`root=PARTUUID=…` in bootargs stays true).
 *   FAT file-system and file times and ext4 superblock times are BUILD_EPOCH (with
 *   buildEnvironment() for mcopy); ext4 inode times are BUILD_EPOCH (modification
 *   times from the files, which the root's tarball fixes; access and change
 *   times set in the image afterwards: INODE_TIMES).
 */
import { createHash } from 'node:crypto';
import { BUILD_EPOCH } from '../util/epoch.js';
import { fatTarget, type ImageLayout, type Partition } from './layout.js';

export interface GenimageOptions {
  /**
   * The directory each ext4 partition is filled from, by partition name.
   * Needed for partitions whose contents come from a tarball (the directory it
   * was extracted to); a `from: { dir }` partition defaults to that directory.
   */
  rootDirs?: Readonly<Record<string, string>>;
}

const KiB = 1024;

/** genimage's size syntax: 1G, 64M, 512k or bytes. */
function genimageSize(bytes: number): string {
  for (const [unit, factor] of [
    ['G', KiB ** 3],
    ['M', KiB ** 2],
    ['k', KiB],
  ] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return String(bytes);
}

const quote = (s: string) => `"${s}"`;

/** The environment genimage runs in: mcopy dates files SOURCE_DATE_EPOCH, mke2fs dates the file system E2FSPROGS_FAKE_TIME. */
export function buildEnvironment(): Record<string, string> {
  return { SOURCE_DATE_EPOCH: String(BUILD_EPOCH), E2FSPROGS_FAKE_TIME: String(BUILD_EPOCH) };
}

/** 16 bytes derived from `what`, as hex. */
const digest = (what: string) => createHash('sha256').update(`xenbuild image id\0${what}`).digest('hex').slice(0, 32);

/** A stable UUID (version 4 and variant bits set, as a random one would have) for `what`. */
export function stableUuid(what: string): string {
  const h = digest(what).split('');
  h[12] = '4';
  h[16] = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  const x = h.join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** A stable 32-bit id (MBR disk signature, FAT volume id) for `what`, as 8 hex digits. */
export const stableId32 = (what: string) => digest(what).slice(0, 8).toUpperCase();

/** genimage's timestamp syntax (debugfs set_current_time): YYYYMMDDhhmmss. */
const debugfsTime = (epoch: number) => new Date(epoch * 1000).toISOString().replace(/[-T:]/g, '').slice(0, 14);

/** The file name genimage gives a partition's file-system image. */
function fsImageName(p: Partition): string {
  return p.type === 'ext4' ? `${p.name}.ext4` : `${p.name}.vfat`;
}

const MBR_TYPES: Record<Partition['type'], string> = { fat32: '0xC', fat16: '0xE', ext4: '0x83', raw: '0xDA' };
const GPT_TYPES: Record<Partition['type'], string> = { fat32: 'F', fat16: 'F', ext4: 'L', raw: 'L' };

function diskSection(layout: ImageLayout, imageName: string): string[] {
  const lines = [`image ${imageName}.img {`, '\thdimage {', `\t\tpartition-table-type = ${quote(layout.table)}`, '\t\talign = 1M'];
  if (layout.table === 'mbr') lines.push(`\t\tdisk-signature = 0x${stableId32(imageName)}`);
  else lines.push(`\t\tdisk-uuid = ${quote(stableUuid(imageName))}`);
  lines.push('\t}');
  for (const p of layout.partitions) {
    lines.push(`\tpartition ${p.name} {`);
    if (layout.table === 'mbr') lines.push(`\t\tpartition-type = ${MBR_TYPES[p.type]}`);
    else lines.push(`\t\tpartition-type-uuid = ${quote(GPT_TYPES[p.type])}`, `\t\tpartition-uuid = ${quote(stableUuid(`${imageName}/${p.name}`))}`);
    if (p.bootable) lines.push('\t\tbootable = true');
    lines.push(`\t\timage = ${quote(p.type === 'raw' ? p.image! : fsImageName(p))}`);
    if (p.offset !== undefined) lines.push(`\t\toffset = ${genimageSize(p.offset)}`);
    lines.push(`\t\tsize = ${genimageSize(p.size)}`, '\t}');
  }
  lines.push('}');
  return lines;
}

function vfatSection(p: Partition, imageName: string): string[] {
  const files = p.files ?? [];
  const args = `${p.type === 'fat32' ? '-F 32' : '-F 16'} --invariant -i ${stableId32(`${imageName}/${p.name}`)}`;
  const lines = [`image ${fsImageName(p)} {`, '\tvfat {', `\t\textraargs = ${quote(args)}`];
  if (p.label !== undefined) lines.push(`\t\tlabel = ${quote(p.label)}`);
  const renamed = files.some((f) => f.to !== undefined && f.to !== fatTarget({ from: f.from }));
  if (files.length > 0 && !renamed) {
    lines.push('\t\tfiles = {', ...files.map((f, i) => `\t\t\t${quote(f.from)}${i < files.length - 1 ? ',' : ''}`), '\t\t}');
  } else {
    for (const f of files) lines.push(`\t\tfile ${quote(fatTarget(f))} {`, `\t\t\timage = ${quote(f.from)}`, '\t\t}');
  }
  lines.push('\t}', `\tsize = ${genimageSize(p.size)}`);
  if (files.length === 0) lines.push('\tempty = true');
  lines.push('\ttemporary = true', '}');
  return lines;
}

/**
 * Run by genimage on each ext4 image it has made (exec-post, with the image
 * in $IMAGEOUTFILE): every inode in use gets BUILD_EPOCH as its access and
 * change time. mke2fs 1.47.0 -d copies them from the staged files, and a
 * file's change time cannot be set from user space, so they are set in the
 * image (by inode number, never by name: no file name reaches a command).
 */
const INODE_TIMES = [
  'set -e; img=$IMAGEOUTFILE',
  `n=$(dumpe2fs -h "$img" 2>/dev/null | awk -F: '$1 == "Inode count" {print $2+0}')`,
  `first=$(dumpe2fs -h "$img" 2>/dev/null | awk -F: '$1 == "First inode" {print $2+0}')`,
  `{ echo 2; seq "$first" "$n" | awk '{print "testi <" $1 ">"}' | debugfs -f - "$img" 2>/dev/null | awk '/ is marked in use$/ {print $2}'; }` +
    ` | awk '{print "sif <" $1 "> atime @${BUILD_EPOCH}"; print "sif <" $1 "> ctime @${BUILD_EPOCH}"}' | debugfs -w -f - "$img" >/dev/null 2>&1`,
].join('; ');

/** A libconfuse double-quoted string's content. */
const confuseEscape = (s: string) => s.replaceAll('\\', '\\\\').replaceAll('"', '\\"');

function ext4Section(p: Partition, imageName: string, opts: GenimageOptions): string[] {
  const id = `${imageName}/${p.name}`;
  const lines = [
    `image ${fsImageName(p)} {`,
    '\text4 {',
    '\t\tuse-mke2fs = true',
    `\t\textraargs = ${quote(`-U ${stableUuid(id)} -E hash_seed=${stableUuid(`${id}/hash`)}`)}`,
    `\t\tfs-timestamp = ${quote(debugfsTime(BUILD_EPOCH))}`,
  ];
  const post = [`\texec-post = "${confuseEscape(INODE_TIMES)}"`];
  if (p.label !== undefined) lines.push(`\t\tlabel = ${quote(p.label)}`);
  lines.push('\t}', `\tsize = ${genimageSize(p.size)}`);
  const src = opts.rootDirs?.[p.name] ?? (p.from && 'dir' in p.from ? p.from.dir : undefined);
  if (p.from && src === undefined) {
    throw new Error(`Internal error: genimageConfig needs rootDirs["${p.name}"], the directory its tarball was extracted to`);
  }
  lines.push(src === undefined ? '\tempty = true' : `\tsrcpath = ${quote(src)}`);
  lines.push(...post, '\ttemporary = true', '}');
  return lines;
}

/**
 * The genimage configuration that builds `<imageName>.img` from `layout`
 * (validated beforehand with validateLayout; imageName: letters, digits, `.`, `_`, `+`, `-`).
 */
export function genimageConfig(layout: ImageLayout, imageName: string, opts: GenimageOptions = {}): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(imageName)) throw new Error(`Internal error: bad image name "${imageName}"`);
  const sections = [diskSection(layout, imageName)];
  for (const p of layout.partitions) {
    if (p.type === 'fat32' || p.type === 'fat16') sections.push(vfatSection(p, imageName));
    else if (p.type === 'ext4') sections.push(ext4Section(p, imageName, opts));
  }
  return `# genimage configuration written by xenbuild: do not edit\n${sections.map((s) => s.join('\n')).join('\n\n')}\n`;
}
