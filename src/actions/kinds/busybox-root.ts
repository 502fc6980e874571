import type { ActionKind } from '../../engine/action.js';
import type { ActionSpec } from '../../model/graph.js';

/** A minimal root from a static busybox and an init script: an initramfs or a root tarball. */
export const busyboxRootKind: ActionKind<Extract<ActionSpec, { kind: 'busybox-root' }>> = {
  async run(spec, _task, ctx) {
    await (await import('../busybox-root.js')).runBusyboxRoot(spec, ctx);
    return {};
  },
  describe: (spec) => [
    `assemble busybox${spec.modules ? ` and ${spec.modules.load.join(', ')} (with what they depend on)` : ''} + ${spec.init.name} → ${spec.output.name} (${spec.format})`,
  ],
};
