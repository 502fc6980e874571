import type { ActionKind } from '../../engine/action.js';
import type { SpecOf } from '../../model/graph.js';
import { snapshotOf } from '../debian-snapshot.js';
import { describeDebianBinary } from '../debian.js';
import { commitTree, describeCommitTree, fetchedTree } from '../source-tree.js';
import type { LockedFile } from '../../model/lock.js';
import type { DebianBinarySpecYaml } from '../../model/schema.js';

declare module '../../model/graph.js' {
  interface ActionSpecs {
    'fetch-debian-binary': {
      source: DebianBinarySpecYaml;
      /** The files xenbuild.lock.json has for it: what Debian's snapshot archive is asked for when the archive no longer has the version. */
      locked?: LockedFile[];
      /** Debian's snapshot archive (a base URL or a directory in its layout). */
      snapshot?: string;
    };
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
