import { describe, expect, it } from 'vitest';
import { stableId32, stableUuid } from '../src/image/genimage-config.js';
import { genimageConfig } from '../src/image/genimage-config.js';
import { imageSize, layoutProblems, placePartitions, validateLayout, LayoutError, type ImageLayout } from '../src/image/layout.js';

const MiB = 1024 * 1024;
const BOOT_FILES = ['MLO', 'u-boot.img', 'uEnv.txt', 'xen-uImage', 'zImage', 'dra7-evm.dtb'];

/** The dra7-evm board's `image:` section, with its inputs resolved to absolute paths. */
const dra7: ImageLayout = {
  table: 'mbr',
  partitions: [
    { name: 'boot', type: 'fat32', size: 64 * MiB, bootable: true, files: BOOT_FILES.map((f) => ({ from: `/deploy/${f}` })) },
    { name: 'root', type: 'ext4', size: 1024 * MiB, from: { dir: '/rootfs' } },
  ],
};

describe('genimageConfig', () => {
  it('writes the exact configuration for the dra7-evm layout', () => {
    expect(genimageConfig(dra7, 'sdcard')).toBe(`# genimage configuration written by xenbuild: do not edit
image sdcard.img {
\thdimage {
\t\tpartition-table-type = "mbr"
\t\talign = 1M
\t\tdisk-signature = 0x64A18F57
\t}
\tpartition boot {
\t\tpartition-type = 0xC
\t\tbootable = true
\t\timage = "boot.vfat"
\t\tsize = 64M
\t}
\tpartition root {
\t\tpartition-type = 0x83
\t\timage = "root.ext4"
\t\tsize = 1G
\t}
}

image boot.vfat {
\tvfat {
\t\textraargs = "-F 32 --invariant -i 824D1552"
\t\tfiles = {
\t\t\t"/deploy/MLO",
\t\t\t"/deploy/u-boot.img",
\t\t\t"/deploy/uEnv.txt",
\t\t\t"/deploy/xen-uImage",
\t\t\t"/deploy/zImage",
\t\t\t"/deploy/dra7-evm.dtb"
\t\t}
\t}
\tsize = 64M
\ttemporary = true
}

image root.ext4 {
\text4 {
\t\tuse-mke2fs = true
\t\textraargs = "-U e8776bc3-f862-49ec-be93-6abad8b3fe5d -E hash_seed=5b9dfac9-b21c-4de4-9a98-cb3912f893e9"
\t\tfs-timestamp = "19800101000000"
\t}
\tsize = 1G
\tsrcpath = "/rootfs"
\texec-post = "set -e; img=$IMAGEOUTFILE; n=$(dumpe2fs -h \\"$img\\" 2>/dev/null | awk -F: '$1 == \\"Inode count\\" {print $2+0}'); first=$(dumpe2fs -h \\"$img\\" 2>/dev/null | awk -F: '$1 == \\"First inode\\" {print $2+0}'); { echo 2; seq \\"$first\\" \\"$n\\" | awk '{print \\"testi <\\" $1 \\">\\"}' | debugfs -f - \\"$img\\" 2>/dev/null | awk '/ is marked in use$/ {print $2}'; } | awk '{print \\"sif <\\" $1 \\"> atime @315532800\\"; print \\"sif <\\" $1 \\"> ctime @315532800\\"}' | debugfs -w -f - \\"$img\\" >/dev/null 2>&1"
\ttemporary = true
}
`);
  });

  it('writes renamed files as file sections only, keeping the declared order', () => {
    const layout: ImageLayout = {
      table: 'gpt',
      partitions: [
        { name: 'boot', type: 'fat16', size: 32 * MiB, label: 'BOOT', files: [{ from: '/d/MLO' }, { from: '/d/xen', to: 'xen-uImage' }] },
        { name: 'fw', type: 'raw', offset: 40 * MiB, size: 2 * MiB, image: '/d/fw.bin' },
        { name: 'data', type: 'ext4', size: 8 * MiB, label: 'data' },
      ],
    };
    const text = genimageConfig(layout, 'card');
    expect(text).toContain('\t\tpartition-table-type = "gpt"\n');
    expect(text).toContain(`\t\tdisk-uuid = "${stableUuid('card')}"\n`);
    expect(text).toContain(
      `\tpartition boot {\n\t\tpartition-type-uuid = "F"\n\t\tpartition-uuid = "${stableUuid('card/boot')}"\n\t\timage = "boot.vfat"\n\t\tsize = 32M\n\t}`,
    );
    expect(text).toContain(
      `\tpartition fw {\n\t\tpartition-type-uuid = "L"\n\t\tpartition-uuid = "${stableUuid('card/fw')}"\n\t\timage = "/d/fw.bin"\n\t\toffset = 40M\n\t\tsize = 2M\n\t}`,
    );
    expect(text).toContain(
      `\tvfat {\n\t\textraargs = "-F 16 --invariant -i ${stableId32('card/boot')}"\n\t\tlabel = "BOOT"\n\t\tfile "MLO" {\n\t\t\timage = "/d/MLO"\n\t\t}\n\t\tfile "xen-uImage" {\n\t\t\timage = "/d/xen"\n\t\t}\n\t}`,
    );
    expect(text).toContain(
      `image data.ext4 {\n\text4 {\n\t\tuse-mke2fs = true\n\t\textraargs = "-U ${stableUuid('card/data')} -E hash_seed=${stableUuid('card/data/hash')}"\n\t\tfs-timestamp = "19800101000000"\n\t\tlabel = "data"\n\t}\n\tsize = 8M\n\tempty = true\n`,
    );
  });

  it('derives stable identifiers from the names: the same for a rebuild, different for another card', () => {
    expect(stableUuid('card/root')).toBe(stableUuid('card/root'));
    expect(stableUuid('card/root')).not.toBe(stableUuid('other/root'));
    expect(stableUuid('card/root')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(stableId32('card')).toMatch(/^[0-9A-F]{8}$/);
    expect(stableId32('card')).not.toBe(stableId32('card/boot'));
  });

  it('takes the directory a tarball was extracted to, and insists on it', () => {
    const layout: ImageLayout = { table: 'mbr', partitions: [{ name: 'root', type: 'ext4', size: 16 * MiB, from: { tarball: '/r.tar.xz' } }] };
    expect(genimageConfig(layout, 'x', { rootDirs: { root: '/tmp/stage/root' } })).toContain('\tsrcpath = "/tmp/stage/root"\n');
    expect(() => genimageConfig(layout, 'x')).toThrow(/rootDirs\["root"\]/);
  });
});

describe('validateLayout', () => {
  it('accepts the dra7 layout and places it as genimage does', () => {
    expect(validateLayout(dra7)).toBe(dra7);
    expect(placePartitions(dra7)).toEqual([
      { name: 'boot', offset: MiB, size: 64 * MiB },
      { name: 'root', offset: 65 * MiB, size: 1024 * MiB },
    ]);
    expect(imageSize(dra7)).toBe(1089 * MiB);
    expect(imageSize({ ...dra7, table: 'gpt' })).toBe(1089 * MiB + 20480); // the backup GPT, as genimage places it
  });

  it('reports every problem at once', () => {
    const problems = layoutProblems({
      table: 'mbr',
      partitions: [
        { name: 'boot', type: 'fat32', size: 16 * MiB, files: [{ from: 'MLO' }, { from: '/a/mlo' }, { from: '/b/MLO' }] },
        { name: 'boot', type: 'ntfs', size: 1000 },
        { name: 'root', type: 'ext4', size: MiB, files: [], image: '/x', label: 'a-label-that-is-too-long' },
        { name: 'fw', type: 'raw', size: MiB, from: { dir: '/x' } },
        { name: 'evil', type: 'ext4', size: MiB, from: { dir: "/tmp/it's" } },
      ],
    });
    expect(problems).toEqual([
      'image.partitions: an MBR holds at most 4 (primary) partitions; use table: gpt',
      'image.partitions[0]: a fat32 partition must be 33 MiB to 2048 GiB (got 16 MiB)',
      'image.partitions[0].files[0].from must be an absolute path (got "MLO")',
      'image.partitions[0].files[2]: "MLO" is also the name of file 1; FAT names are case-insensitive',
      'image.partitions[1].type must be one of fat32, fat16, ext4, raw',
      'image.partitions[1].size must be a positive multiple of 1 MiB',
      'image.partitions[1].name "boot" is used twice',
      'image.partitions[2].label must be 1 to 16 printable ASCII characters without quotes, backslashes or $',
      'image.partitions[2].files: only fat16/fat32 partitions take a file list',
      'image.partitions[2].image: only raw partitions are written from an image file',
      'image.partitions[3].from: only ext4 partitions are filled from a directory or tarball',
      'image.partitions[3].image must be a non-empty path (a raw partition is written from an image file)',
      `image.partitions[4].from.dir "/tmp/it's" contains a quote, backslash, $, backquote or control character`,
    ]);
  });

  it('names the partition table types it knows', () => {
    expect(layoutProblems({ table: 'msdos', partitions: [{ name: 'a', type: 'ext4', size: MiB }] })).toEqual(['image.table must be "mbr" or "gpt"']);
    expect(layoutProblems({ table: 'gpt' })).toEqual(['image.partitions must be a non-empty list']);
  });

  it('finds overlapping partitions', () => {
    const layout = {
      table: 'mbr',
      partitions: [
        { name: 'a', type: 'ext4', size: 8 * MiB },
        { name: 'b', type: 'ext4', offset: 4 * MiB, size: 8 * MiB },
      ],
    };
    expect(() => validateLayout(layout)).toThrow(LayoutError);
    expect(layoutProblems(layout)).toEqual(['image.partitions[1] "b" (4 MiB + 8 MiB) overlaps "a"']);
  });
});
