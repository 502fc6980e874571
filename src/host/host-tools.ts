/**
 * Host programs xenbuild and its recipes run, and the Debian package that
 * provides each. Recipes can add to this table with their `tools:` key.
 */
export const DEBIAN_PACKAGES: Readonly<Record<string, string>> = {
  git: 'git',
  make: 'make',
  gcc: 'gcc',
  cc: 'gcc',
  tar: 'tar',
  patch: 'patch',
  bison: 'bison',
  flex: 'flex',
  bc: 'bc',
  python3: 'python3',
  swig: 'swig',
  'arm-linux-gnueabihf-gcc': 'gcc-arm-linux-gnueabihf',
  'arm-linux-gnueabihf-ld': 'binutils-arm-linux-gnueabihf',
  'arm-linux-gnueabihf-objcopy': 'binutils-arm-linux-gnueabihf',
  'aarch64-linux-gnu-gcc': 'gcc-aarch64-linux-gnu',
  mkimage: 'u-boot-tools',
  mkenvimage: 'u-boot-tools',
  dumpimage: 'u-boot-tools',
  dtc: 'device-tree-compiler',
  fdtput: 'device-tree-compiler',
  fdtget: 'device-tree-compiler',
  genimage: 'genimage',
  'faked-sysv': 'fakeroot',
  mcopy: 'mtools',
  mdir: 'mtools',
  'mkfs.vfat': 'dosfstools',
  mke2fs: 'e2fsprogs',
  debugfs: 'e2fsprogs',
  sfdisk: 'fdisk',
  bmaptool: 'bmap-tools',
  'qemu-system-arm': 'qemu-system-arm',
  zstd: 'zstd',
  xz: 'xz-utils',
  'dpkg-deb': 'dpkg',
  'dpkg-source': 'dpkg-dev',
  'apt-get': 'apt',
  'apt-cache': 'apt',
  'dpkg-scanpackages': 'dpkg-dev',
  'dpkg-scansources': 'dpkg-dev',
  file: 'file',
  cp: 'coreutils',
  truncate: 'coreutils',
  fallocate: 'util-linux',
  unshare: 'util-linux',
  gzip: 'gzip',
  cpio: 'cpio',
  modinfo: 'kmod',
  'qemu-system-aarch64': 'qemu-system-arm',
};

export function debianPackageFor(tool: string, extra: Readonly<Record<string, string>> = {}): string | undefined {
  const base = tool.includes('/') ? tool.slice(tool.lastIndexOf('/') + 1) : tool;
  return extra[base] ?? DEBIAN_PACKAGES[base];
}

/** What doctor proves a C compiler builds: a program that links against the C library, or freestanding code. */
export type CompileKind = 'hosted' | 'freestanding';

/** `gcc`, `cc`, `arm-linux-gnueabihf-gcc`, `clang`…: a program doctor can prove by compiling with it. */
export function isCCompiler(tool: string): boolean {
  const base = tool.includes('/') ? tool.slice(tool.lastIndexOf('/') + 1) : tool;
  return /^(?:[A-Za-z0-9_.]+-)*(?:gcc|cc|clang)(?:-\d+)?$/.test(base);
}

/**
 * The Debian package with the C library and headers a compiler links hosted
 * programs against. Each is only a Recommends of its compiler, so an install
 * with --no-install-recommends has a compiler that cannot build `#include <stdio.h>`.
 */
export const C_LIBRARY_PACKAGES: Readonly<Record<string, string>> = {
  gcc: 'libc6-dev',
  cc: 'libc6-dev',
  clang: 'libc6-dev',
  'arm-linux-gnueabihf-gcc': 'libc6-dev-armhf-cross',
  'arm-linux-gnueabi-gcc': 'libc6-dev-armel-cross',
  'aarch64-linux-gnu-gcc': 'libc6-dev-arm64-cross',
};
