import type { ActionKind } from '../../engine/action.js';
import type { SpecOf } from '../../model/graph.js';
import { commitTree, describeCommitTree, fetchedTree } from '../source-tree.js';
import type { TarballSourceSpec } from '../../model/schema.js';

declare module '../../model/graph.js' {
  interface ActionSpecs {
    'fetch-tarball': { source: TarballSourceSpec };
  }
}

/** A tarball checked against its sha256 and extracted (or kept whole), made a one-commit tree. */
export const fetchTarballKind: ActionKind<SpecOf<'fetch-tarball'>> = {
  async run(spec, _task, ctx) {
    const { fetchTarball } = await import('../tarball.js');
    await fetchTarball(ctx, spec.source);
    return { head: await commitTree(ctx, `${spec.source.tarball} (sha256 ${spec.source.sha256})`) };
  },
  describe: (spec, _task, where) => [
    `fetch ${spec.source.tarball} (sha256 ${spec.source.sha256}) and ${spec.source.unpack === false ? 'keep it whole in' : 'extract it into'} ${where.srcDir}`,
    describeCommitTree(where.srcDir),
  ],
  ...fetchedTree,
};
