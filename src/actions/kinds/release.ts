import type { ActionKind } from '../../engine/action.js';
import type { ActionSpec } from '../../model/graph.js';
import { shellQuote } from '../../util/shell.js';

/** The flashable release: compressed image, bmap, SHA256SUMS and manifest. */
export const releaseKind: ActionKind<Extract<ActionSpec, { kind: 'release' }>> = {
  async run(spec, _task, ctx) {
    await (await import('../image.js')).runRelease(spec, ctx);
    return {};
  },
  describe: (spec) => [`bmaptool create ${shellQuote(spec.image.path)}; ${spec.compress} copy; SHA256SUMS; manifest.json`],
};
