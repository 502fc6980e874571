import type { ActionKind } from '../../engine/action.js';
import { BASE_REF } from '../../host/git-refs.js';
import type { SpecOf } from '../../model/graph.js';
import { shellQuote } from '../../util/shell.js';
import { describeFetchGit, fetchGit, runGit } from '../git.js';
import { fetchedTree } from '../source-tree.js';
import type { GitSourceSpec } from '../../model/schema.js';

declare module '../../model/graph.js' {
  interface ActionSpecs {
    'fetch-git': { source: GitSourceSpec };
  }
}

/** A git source at its pinned commit, checked out in the board's source tree. */
export const fetchGitKind: ActionKind<SpecOf<'fetch-git'>> = {
  async run(spec, _task, ctx) {
    const { commit } = await fetchGit(ctx, spec.source);
    await runGit(ctx, ['update-ref', BASE_REF, commit], { cwd: ctx.srcDir });
    return { head: commit };
  },
  describe: (spec, _task, where) => [
    ...describeFetchGit(spec.source, where),
    `git -C ${shellQuote(where.srcDir)} update-ref ${BASE_REF} ${spec.source.commit}`,
  ],
  ...fetchedTree,
};
