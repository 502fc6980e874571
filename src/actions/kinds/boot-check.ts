import type { ActionKind } from '../../engine/action.js';
import type { ActionSpec } from '../../model/graph.js';

/** The pre-flight check: the rule book against the plan, the device tree, the kernel config and Xen's bytes. */
export const bootCheckKind: ActionKind<Extract<ActionSpec, { kind: 'boot-check' }>> = {
  async run(spec, _task, ctx) {
    await (await import('../boot.js')).runCheck(spec, ctx);
    return {};
  },
  describe: (spec) => [`check the plan${spec.dtb ? ', the device tree' : ''}${spec.config ? ', the kernel config' : ''} → ${spec.report.name}`],
};
