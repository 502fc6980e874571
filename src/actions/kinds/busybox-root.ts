import type { ActionKind } from '../../engine/action.js';
import type { SpecOf } from '../../model/graph.js';

declare module '../../model/graph.js' {
  interface ActionSpecs {
    'busybox-root': { busybox: string; init: FileRef; modules?: { dir: string; load: string[] }; format: 'cpio' | 'tar'; output: FileRef };
  }
}

/** A minimal root from a static busybox and an init script: an initramfs or a root tarball. */
export const busyboxRootKind: ActionKind<SpecOf<'busybox-root'>> = {
  async run(spec, _task, ctx) {
    await (await import('../busybox-root.js')).runBusyboxRoot(spec, ctx);
    return {};
  },
  describe: (spec) => [
    `assemble busybox${spec.modules ? ` and ${spec.modules.load.join(', ')} (with what they depend on)` : ''} + ${spec.init.name} → ${spec.output.name} (${spec.format})`,
  ],
};
