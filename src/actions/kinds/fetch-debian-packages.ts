import type { ActionKind } from '../../engine/action.js';
import type { SpecOf } from '../../model/graph.js';
import { snapshotOf, type SnapshotFallback } from '../debian-snapshot.js';
import { describeDebianPackages } from '../debian-packages.js';
import { commitTree, describeCommitTree, fetchedTree } from '../source-tree.js';
import type { DebianPackagesSpecYaml } from '../../model/schema.js';

declare module '../../model/graph.js' {
  interface ActionSpecs {
    'fetch-debian-packages': { source: DebianPackagesSpecYaml } & SnapshotFallback;
  }
}

/** Debian binary packages at their pinned versions, unpacked together with dpkg-deb -x. */
export const fetchDebianPackagesKind: ActionKind<SpecOf<'fetch-debian-packages'>> = {
  async run(spec, _task, ctx) {
    const { fetchDebianPackages } = await import('../debian-packages.js');
    const r = await fetchDebianPackages(ctx, spec.source, spec.locked, snapshotOf(spec));
    const n = Object.keys(r.debs).length;
    return { head: await commitTree(ctx, `${n} Debian package${n === 1 ? '' : 's'} (${r.arch}): ${Object.keys(r.debs).join(', ')}`) };
  },
  describe: (spec, _task, where) => [...describeDebianPackages(spec.source, where), describeCommitTree(where.srcDir)],
  ...fetchedTree,
};
