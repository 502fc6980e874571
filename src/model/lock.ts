/**
 * The entries of xenbuild.lock.json (analysis/lockfile.ts reads and writes
 * the file): what each source was resolved to, down to the bytes.
 */

/** One file of a Debian package as the archive served it. */
export interface LockedFile {
  name: string;
  size: number;
  sha256: string;
  sha1: string;
}

export type LockedSource =
  | { git: string; ref?: string; commit: string }
  | { tarball: string; sha256: string }
  | { 'debian-source': string; version: string; dsc: string; files: LockedFile[] }
  | { 'debian-binary': string; version: string; arch: string; files: LockedFile[] }
  /** One .deb per package, sorted by name. */
  | { 'debian-packages': Record<string, string>; arch: string; files: LockedFile[] };

export interface LockFile {
  lockfileVersion: 1;
  /** By sourceKey(): "xen-debian", "xen@4.5.1-rc1". */
  sources: Record<string, LockedSource>;
}
