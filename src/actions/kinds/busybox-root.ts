import type { ActionKind } from '../../engine/action.js';
import type { SpecOf } from '../../model/graph.js';

declare module '../../model/graph.js' {
  interface ActionSpecs {
    'busybox-root': {
      busybox: string;
      init: FileRef;
      modules?: { dir: string; load: string[] };
      /** Directories copied in, in order, after busybox and before the init. */
      trees?: string[];
      files?: { from: string; to: string }[];
      format: 'cpio' | 'tar';
      output: FileRef;
    };
  }
}

/** A minimal root from a static busybox and an init script: an initramfs or a root tarball. */
export const busyboxRootKind: ActionKind<SpecOf<'busybox-root'>> = {
  async run(spec, _task, ctx) {
    await (await import('../busybox-root.js')).runBusyboxRoot(spec, ctx);
    return {};
  },
  describe: (spec) => [
    `assemble busybox${spec.modules ? ` and ${spec.modules.load.join(', ')} (with what they depend on)` : ''}${spec.trees?.length ? ` + ${spec.trees.join(', ')}` : ''}${spec.files?.length ? ` + ${spec.files.map((f) => f.to).join(', ')}` : ''} + ${spec.init.name} → ${spec.output.name} (${spec.format})`,
  ],
};
