/** What an image and a release are made of, as analysis hands them to the image and release actions. */

type PartitionTable = 'mbr' | 'gpt';
export type PartitionType = 'fat32' | 'fat16' | 'ext4' | 'raw';

/** A file copied onto a FAT partition. */
export interface FatFile {
  /** Absolute path of the file (or directory, copied recursively) on the host. */
  from: string;
  /** Its name on the partition, `/` for subdirectories; default: the basename of `from`. */
  to?: string;
}

/** Where an ext4 partition's contents come from: a directory, or a rootfs tarball (gzip, xz, zstd, bzip2 or plain). */
type FsSource = { dir: string } | { tarball: string };

export interface Partition {
  /** Also the GPT partition name; letters, digits, `_` and `-`. */
  name: string;
  type: PartitionType;
  /** Bytes from the start of the disk; default: right after the previous partition (1 MiB for the first). */
  offset?: number;
  /** Bytes; a multiple of 1 MiB. */
  size: number;
  /** The MBR active flag (TI's ROM boots only from an active FAT partition); on GPT the legacy-BIOS-bootable attribute. */
  bootable?: boolean;
  /** Volume label (FAT: at most 11 characters; ext4: at most 16). */
  label?: string;
  /** fat16/fat32 only: copied in this order (the first one is the first directory entry, as TI's ROM wants MLO). */
  files?: FatFile[];
  /** ext4 only: the contents; without it the file system is empty. */
  from?: FsSource;
  /** raw only: an image file written as the partition's contents. */
  image?: string;
}

export interface ImageLayout {
  table: PartitionTable;
  partitions: Partition[];
}

/** One pinned source of the build. */
export interface ManifestSource {
  component: string;
  /** How it was fetched: git, tarball, debian (a Debian source or binary package), … */
  kind: string;
  url: string;
  /** The tag or branch named by the recipe, if any. */
  ref?: string;
  commit?: string;
  sha256?: string;
  /** A Debian package version, or a release's version. */
  version?: string;
}

export interface ManifestComponent {
  component: string;
  recipe: string;
  version?: string;
  /** The recipe's one-line description. */
  description?: string;
}
