import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { ActionContext, ActionKind } from '../../engine/action.js';
import { TaskFailure } from '../../host/failure.js';
import type { FileRef, SpecOf } from '../../model/graph.js';
import { replaceTree } from '../../util/fs.js';
import { shellQuote } from '../../util/shell.js';

declare module '../../model/graph.js' {
  interface ActionSpecs {
    artifact: { files: { from: FileRef; to: FileRef }[] };
  }
}

/** A component's exports copied into deploy/. */
export const artifactKind: ActionKind<SpecOf<'artifact'>> = {
  async run(spec, _task, ctx) {
    for (const file of spec.files) await deployArtifact(file.from, file.to, ctx);
    return {};
  },
  describe: (spec) => spec.files.map((f) => `cp -a ${shellQuote(f.from.path)} ${shellQuote(f.to.path)}`),
};

/**
 * Copies an exported artifact into deploy/: a file, or a directory (a root
 * file system tree) with `cp -a` (modes, links and special files kept). Both
 * are made next to their final name and renamed into place when complete.
 */
async function deployArtifact(from: FileRef, to: FileRef, ctx: ActionContext): Promise<void> {
  await mkdir(dirname(to.path), { recursive: true });
  const tmp = join(dirname(to.path), `.${relative(dirname(to.path), to.path)}.partial`);
  const kind = await stat(from.path).then(
    (s) => (s.isDirectory() ? 'dir' : 'file'),
    () => {
      throw new TaskFailure({ reason: 'bad-artifact', path: from.name, message: `does not exist, so ${to.name} cannot be made: check the recipe's exports` });
    },
  );
  for (const leftover of [tmp, `${tmp}.old`]) await rm(leftover, { recursive: true, force: true }); // of a run that was killed
  try {
    if (kind === 'file') {
      await copyFile(from.path, tmp);
      await rename(tmp, to.path);
    } else {
      await ctx.exec(['cp', '-a', '--', from.path, tmp], { quiet: true });
      await replaceTree(tmp, to.path, `${tmp}.old`);
      await rm(`${tmp}.old`, { recursive: true, force: true });
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  ctx.log(`${from.name}${kind === 'dir' ? '/' : ''} → ${to.name}${kind === 'dir' ? '/' : ''}`);
}
