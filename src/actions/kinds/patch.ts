import type { ActionKind } from '../../engine/action.js';
import { TaskFailure } from '../../host/failure.js';
import { BASE_REF, readBaseRef } from '../../host/git-refs.js';
import type { SpecOf } from '../../model/graph.js';
import { shellQuote } from '../../util/shell.js';

declare module '../../model/graph.js' {
  interface ActionSpecs {
    patch: { patches: FileRef[] };
  }
}

/** The recipe's patch series on the pristine base, one commit per patch. */
export const patchKind: ActionKind<SpecOf<'patch'>> = {
  async run(spec, _task, ctx) {
    const base = readBaseRef(ctx.srcDir);
    if (!base) throw new TaskFailure({ reason: 'commit-missing', url: ctx.srcDir, commit: BASE_REF, from: ctx.srcDir });
    const { applyPatchSeries } = await import('../patch.js');
    const { commit } = await applyPatchSeries(ctx, base, spec.patches);
    return { head: commit };
  },
  describe: (spec, _task, where) => [
    `git -C ${shellQuote(where.srcDir)} checkout -f ${BASE_REF}`,
    ...spec.patches.map((p) => `git -C ${shellQuote(where.srcDir)} apply --cached ${shellQuote(p.path)} && git commit-tree …   # ${p.name}`),
  ],
};
