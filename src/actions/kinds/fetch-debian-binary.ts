import type { ActionKind } from '../../engine/action.js';
import type { SpecOf } from '../../model/graph.js';
import { snapshotOf, type SnapshotFallback } from '../debian-snapshot.js';
import { describeDebianBinary } from '../debian.js';
import { commitTree, describeCommitTree, fetchedTree } from '../source-tree.js';
import type { DebianBinarySpecYaml } from '../../model/schema.js';

declare module '../../model/graph.js' {
  interface ActionSpecs {
    'fetch-debian-binary': { source: DebianBinarySpecYaml } & SnapshotFallback;
  }
}

/** A Debian binary package at its pinned version, unpacked with dpkg-deb -x. */
export const fetchDebianBinaryKind: ActionKind<SpecOf<'fetch-debian-binary'>> = {
  async run(spec, _task, ctx) {
    const { fetchDebianBinary } = await import('../debian.js');
    const r = await fetchDebianBinary(ctx, spec.source, snapshotOf(spec));
    return { head: await commitTree(ctx, `Debian package ${spec.source['debian-binary']}:${r.arch} ${r.version} (sha256 ${r.sha256})`) };
  },
  describe: (spec, _task, where) => [...describeDebianBinary(spec.source, where), describeCommitTree(where.srcDir)],
  ...fetchedTree,
};
