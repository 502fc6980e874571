import type { ActionKind } from '../../engine/action.js';
import type { ActionSpec } from '../../model/graph.js';
import { shellQuote } from '../../util/shell.js';

/** The board's device tree with /chosen, the boot modules and the fixups baked in. */
export const bootDtbKind: ActionKind<Extract<ActionSpec, { kind: 'boot-dtb' }>> = {
  async run(spec, _task, ctx) {
    await (await import('../boot.js')).runDtb(spec, ctx);
    return {};
  },
  describe: (spec) => [
    `dtc -I dtb -O dtb -p 4096 ${shellQuote(spec.input.path)} && fdtput …   # /chosen, modules and ${spec.edits.length} fixups → ${spec.output.name}`,
  ],
};
