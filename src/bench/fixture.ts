import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';

/**
 * The benchmark's throwaway project: six components, each fetched from its own
 * local upstream git repository, patched with one real patch, configured
 * (`cp` of a project config fragment) and built (`make`), then exported to
 * deploy/ — 6 × 5 = 30 tasks. A `toolchain` component only holds variables.
 */

export const BOARD = 'bench';
export const COMPONENTS = ['xen', 'linux', 'u-boot', 'tf-a', 'busybox', 'dtc'] as const;
/** fetch, patch, configure, build, deploy */
export const TASKS_PER_COMPONENT = 5;

export interface Fixture {
  /** The temporary directory holding everything (removed at the end). */
  dir: string;
  /** The project directory xenbuild runs in. */
  project: string;
  /** <project>/build/<board> */
  boardDir: string;
  /** The components' source trees, <boardDir>/src/<component>. */
  srcDirs: string[];
  taskCount: number;
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@localhost',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@localhost',
  GIT_AUTHOR_DATE: '2015-05-18T16:18:42Z',
  GIT_COMMITTER_DATE: '2015-05-18T16:18:42Z',
  GIT_CONFIG_NOSYSTEM: '1',
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' }).trim();
}

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** A small but real source tree: a Makefile that concatenates the configured sources into out/<name>.bin. */
function upstreamFiles(name: string): Record<string, string> {
  const makefile = [
    `# ${name}: a stand-in for a real build — "make all" produces out/${name}.bin`,
    'ARCH ?= x86',
    `IMAGE := out/${name}.bin`,
    '',
    'all: $(IMAGE)',
    '',
    '$(IMAGE): .config src/core.c src/util.c include/version.h',
    '\tmkdir -p out',
    '\tcat .config include/version.h src/core.c src/util.c > $@',
    '\techo "ARCH=$(ARCH) CROSS_COMPILE=$(CROSS_COMPILE)" >> $@',
    '',
    '.PHONY: all',
    '',
  ].join('\n');
  return {
    Makefile: makefile,
    README: `${name} — benchmark fixture component\n`,
    'include/version.h': `#define ${name.toUpperCase().replace(/-/g, '_')}_VERSION "1.0"\n`,
    'src/core.c': ['#include "version.h"', '', 'int core_init(void)', '{', '\treturn 0;', '}', ''].join('\n'),
    'src/util.c': ['int util_add(int a, int b)', '{', '\treturn a + b;', '}', ''].join('\n'),
  };
}

/** Creates an upstream repository with one tagged commit; returns its URL and commit, and a patch against it. */
function makeUpstream(root: string, name: string): { url: string; commit: string; patch: string } {
  const repo = join(root, 'upstream', name);
  mkdirSync(repo, { recursive: true });
  git(repo, 'init', '-q', '-b', 'main');
  const files = upstreamFiles(name);
  for (const [rel, text] of Object.entries(files)) write(join(repo, rel), text);
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', `${name} 1.0`);
  git(repo, 'tag', 'v1.0');
  const commit = git(repo, 'rev-parse', 'HEAD');
  // The patch: edit a file, let git write the diff, put the file back as it was.
  const original = files['src/core.c']!;
  write(join(repo, 'src/core.c'), original.replace('\treturn 0;', '\t/* board fix-up from xenbuild */\n\treturn 1;'));
  const patch = `From: bench <bench@localhost>\nSubject: [PATCH] ${name}: board fix-up\n\n---\n${git(repo, 'diff', '--no-color', '--no-ext-diff')}\n`;
  write(join(repo, 'src/core.c'), original);
  return { url: repo, commit, patch };
}

function recipeFor(name: string, up: { url: string; commit: string }): object {
  return {
    recipe: name,
    description: `benchmark component ${name}`,
    versions: { '1.0': { source: { git: up.url, ref: 'v1.0', commit: up.commit }, patches: [`patches/${name}/`] } },
    'default-version': '1.0',
    tasks: {
      configure: {
        run: ['cp', `\${root}/configs/fragments/${name}.config`, '.config'],
        inputs: [`configs/fragments/${name}.config`],
        outputs: ['.config'],
      },
      build: {
        after: ['configure'],
        make: ['ARCH=${toolchain.arch}', 'CROSS_COMPILE=${toolchain.cross}', 'all'],
        outputs: [`out/${name}.bin`],
      },
    },
    exports: { [`${name}.bin`]: `out/${name}.bin` },
  };
}

/** Writes the whole project under a new directory in os.tmpdir(). */
export function createFixture(): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'xenbuild-bench-'));
  const project = join(dir, 'project');
  write(join(project, 'xenbuild.config.json'), JSON.stringify({ cacheDir: '../cache' }) + '\n');
  write(
    join(project, 'recipes', 'toolchain.yaml'),
    stringify({ recipe: 'toolchain', description: 'cross toolchain settings', variables: { arch: 'arm', cross: 'arm-linux-gnueabihf-' } }),
  );
  const components: Record<string, string> = { toolchain: 'toolchain' };
  for (const name of COMPONENTS) {
    const up = makeUpstream(dir, name);
    write(join(project, 'patches', name, '0001-board-fix-up.patch'), up.patch);
    write(join(project, 'configs', 'fragments', `${name}.config`), `CONFIG_${name.toUpperCase().replace(/-/g, '_')}=y\nCONFIG_BENCH=y\n`);
    write(join(project, 'recipes', `${name}.yaml`), stringify(recipeFor(name, up)));
    components[name] = `${name}@1.0`;
  }
  write(join(project, 'configs', 'boards', `${BOARD}.yaml`), stringify({ board: BOARD, description: 'no-op benchmark board', components }));
  const boardDir = join(project, 'build', BOARD);
  return {
    dir,
    project,
    boardDir,
    srcDirs: COMPONENTS.map((c) => join(boardDir, 'src', c)),
    taskCount: COMPONENTS.length * TASKS_PER_COMPONENT,
  };
}
