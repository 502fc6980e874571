import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, Rig } from './rig.js';

const HELLO_C = `#include <stdio.h>
int main(void) { puts("hello from " GREETING); return 0; }
`;

/** A patch made with git diff on a copy of the upstream, so it applies with git apply. */
function makePatch(rig: Rig, upstream: string, name: string, edit: (dir: string) => void): void {
  const work = join(rig.dir, 'patchwork', name);
  execFileSync('git', ['clone', '-q', upstream, work]);
  edit(work);
  const diff = git(work, 'diff');
  rig.write(`patches/hello/${name}`, diff + '\n');
}

/**
 * The fixture board "fx": a cross toolchain (variables only), "hello" from a
 * tagged git repo with a two-patch series, cross-compiled with the real
 * arm-linux-gnueabihf-gcc and exported, and "notes" from a tarball found
 * through a mirror directory, independent of hello.
 */
export function fixtureBoard(rig: Rig): { helloCommit: string; tarball: string } {
  const hello = rig.upstream(
    'hello',
    {
      'hello.c': HELLO_C,
      Makefile: 'CC ?= cc\nGREETING ?= "xen"\nhello: hello.c\n\t$(CC) -DGREETING=\'$(GREETING)\' -o $@ $<\n',
      README: 'hello\n',
    },
    'v1.0',
  );
  makePatch(rig, hello.url, '0001-greeting.patch', (d) => writeFileSync(join(d, 'hello.c'), HELLO_C.replace('hello from', 'greetings from')));
  makePatch(rig, hello.url, '0002-readme.patch', (d) => writeFileSync(join(d, 'README'), 'hello, patched\n'));

  // A tarball in a mirror directory; the recipe names a URL that cannot be reached.
  const src = join(rig.dir, 'tarsrc', 'notes-1.0');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'notes.txt'), 'release notes\n');
  const mirror = join(rig.dir, 'mirror');
  mkdirSync(mirror, { recursive: true });
  const tarball = join(mirror, 'notes-1.0.tar.gz');
  execFileSync('tar', ['-C', join(rig.dir, 'tarsrc'), '-czf', tarball, 'notes-1.0']);
  const sha = createHash('sha256').update(readFileSync(tarball)).digest('hex');

  rig.write(
    'recipes/armhf.yaml',
    `recipe: armhf
description: Debian's cross toolchain
variables: { prefix: arm-linux-gnueabihf- }
tools: { arm-linux-gnueabihf-gcc: gcc-arm-linux-gnueabihf }
`,
  );
  rig.write(
    'recipes/hello.yaml',
    `recipe: hello
versions:
  "1.0":
    source: { git: "${hello.url}", ref: v1.0, commit: ${hello.commit} }
    patches: [patches/hello/]
default-version: "1.0"
tools: { arm-linux-gnueabihf-gcc: gcc-arm-linux-gnueabihf }
tasks:
  build:
    make: ["CC=\${toolchain.prefix}gcc", "GREETING=\${greeting}", hello]
    outputs: [hello]
  check:
    after: [build]
    run: [cmp, hello, hello]
variables: { greeting: '"xen"' }
exports:
  hello-arm: hello
`,
  );
  rig.write(
    'recipes/notes.yaml',
    `recipe: notes
source: { tarball: "https://example.invalid/notes-1.0.tar.gz", sha256: ${sha} }
tasks:
  build:
    run: [cp, notes.txt, NOTES]
    outputs: [NOTES]
exports:
  NOTES: NOTES
`,
  );
  rig.write(
    'configs/boards/fx.yaml',
    `board: fx
description: fixture board
components:
  toolchain: armhf
  hello: hello@1.0
  notes: notes
`,
  );
  writeFileSync(rig.path('xenbuild.config.json'), JSON.stringify({ cacheDir: '../cache', mirror: '../mirror' }) + '\n');
  return { helloCommit: hello.commit, tarball };
}
