import type { ActionKind } from '../../engine/action.js';
import type { SpecOf } from '../../model/graph.js';
import { shellQuote } from '../../util/shell.js';
import type { DomU, DtEdit, Range, XenCommandLines } from '../../model/boot.js';

declare module '../../model/graph.js' {
  interface ActionSpecs {
    'boot-dtb': { input: FileRef; output: FileRef; plan: FileRef; edits: DtEdit[]; cmdlines: XenCommandLines; dom0?: Range[]; domus?: DomU[] };
  }
}

/** The board's device tree with /chosen, the boot modules and the fixups baked in. */
export const bootDtbKind: ActionKind<SpecOf<'boot-dtb'>> = {
  async run(spec, _task, ctx) {
    await (await import('../boot.js')).runDtb(spec, ctx);
    return {};
  },
  describe: (spec) => [
    `dtc -I dtb -O dtb -p 4096 ${shellQuote(spec.input.path)} && fdtput …   # /chosen, modules and ${spec.edits.length} fixups → ${spec.output.name}`,
  ],
};
