import type { ActionKind } from '../../engine/action.js';
import type { SpecOf } from '../../model/graph.js';
import { shellQuote } from '../../util/shell.js';

declare module '../../model/graph.js' {
  interface ActionSpecs {
    uimage: { input: FileRef; output: FileRef; load: number; name: string };
  }
}

/** A binary wrapped as a legacy U-Boot image (what bootm loads), as mkimage does. */
export const uimageKind: ActionKind<SpecOf<'uimage'>> = {
  async run(spec, _task, ctx) {
    await (await import('../boot.js')).runUimage(spec, ctx);
    return {};
  },
  describe(spec) {
    const load = `0x${spec.load.toString(16)}`;
    return [
      `mkimage -A arm -O linux -T kernel -C none -a ${load} -e ${load} -n ${shellQuote(spec.name)} -d ${shellQuote(spec.input.path)} ${shellQuote(spec.output.path)}`,
    ];
  },
};
