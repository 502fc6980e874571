import type { ActionKind } from '../../engine/action.js';
import type { ActionSpec } from '../../model/graph.js';

/** The SD card image, by genimage from the board's layout. */
export const imageKind: ActionKind<Extract<ActionSpec, { kind: 'image' }>> = {
  async run(spec, _task, ctx) {
    await (await import('../image.js')).runImage(spec, ctx);
    return {};
  },
  describe: (spec) => [`genimage --config <generated> → ${spec.output.name} (${spec.layout.partitions.map((p) => p.name).join(', ')})`],
};
