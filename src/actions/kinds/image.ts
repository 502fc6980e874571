import type { ActionKind } from '../../engine/action.js';
import type { SpecOf } from '../../model/graph.js';
import type { ImageLayout } from '../../model/image.js';

declare module '../../model/graph.js' {
  interface ActionSpecs {
    image: { layout: ImageLayout; name: string; output: FileRef };
  }
}

/** The SD card image, by genimage from the board's layout. */
export const imageKind: ActionKind<SpecOf<'image'>> = {
  async run(spec, _task, ctx) {
    await (await import('../image.js')).runImage(spec, ctx);
    return {};
  },
  describe: (spec) => [`genimage --config <generated> → ${spec.output.name} (${spec.layout.partitions.map((p) => p.name).join(', ')})`],
};
