import type { ActionKind } from '../../engine/action.js';
import type { SpecOf } from '../../model/graph.js';
import { snapshotOf, type SnapshotFallback } from '../debian-snapshot.js';
import { describeDebianSource } from '../debian.js';
import { commitTree, describeCommitTree, fetchedTree } from '../source-tree.js';
import type { DebianSourceSpecYaml } from '../../model/schema.js';

declare module '../../model/graph.js' {
  interface ActionSpecs {
    'fetch-debian-source': { source: DebianSourceSpecYaml } & SnapshotFallback;
  }
}

/** A Debian source package at its pinned version, unpacked with Debian's patches applied. */
export const fetchDebianSourceKind: ActionKind<SpecOf<'fetch-debian-source'>> = {
  async run(spec, _task, ctx) {
    const { fetchDebianSource } = await import('../debian.js');
    const r = await fetchDebianSource(ctx, spec.source, snapshotOf(spec));
    return { head: await commitTree(ctx, `Debian source ${spec.source['debian-source']} ${r.version} (.dsc sha256 ${r.sha256})`) };
  },
  describe: (spec, _task, where) => [...describeDebianSource(spec.source, where), describeCommitTree(where.srcDir)],
  ...fetchedTree,
};
