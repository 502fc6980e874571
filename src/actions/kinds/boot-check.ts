import type { ActionKind } from '../../engine/action.js';
import type { SpecOf } from '../../model/graph.js';
import type { DomU, Range, XenCommandLines } from '../../model/boot.js';

declare module '../../model/graph.js' {
  interface ActionSpecs {
    'boot-check': {
      plan: FileRef;
      /** Xen as built (before any mkimage wrapping), for what its bytes show (XB-HYP-001). */
      xen?: FileRef;
      /** A digest of the rule book's code (check/code.ts): new rules check again. */
      rules?: string;
      dtb?: FileRef;
      config?: FileRef;
      cmdlines: XenCommandLines;
      hyp: 'u-boot-patch' | 'xen-fallback' | 'firmware' | 'unknown';
      dom0?: Range[];
      /** dom0less guests: their memory, vCPUs and consoles are checked too. */
      domus?: DomU[];
      lpae: boolean;
      report: FileRef;
    };
  }
}

/** The pre-flight check: the rule book against the plan, the device tree, the kernel config and Xen's bytes. */
export const bootCheckKind: ActionKind<SpecOf<'boot-check'>> = {
  async run(spec, _task, ctx) {
    await (await import('../boot.js')).runCheck(spec, ctx);
    return {};
  },
  describe: (spec) => [`check the plan${spec.dtb ? ', the device tree' : ''}${spec.config ? ', the kernel config' : ''} → ${spec.report.name}`],
};
