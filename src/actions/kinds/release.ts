import type { ActionKind } from '../../engine/action.js';
import type { SpecOf } from '../../model/graph.js';
import { shellQuote } from '../../util/shell.js';
import type { ManifestComponent, ManifestSource } from '../../model/image.js';

declare module '../../model/graph.js' {
  interface ActionSpecs {
    release: {
      board: string;
      image: FileRef;
      compress: 'zst' | 'xz';
      level: number;
      outputs: FileRef[];
      profile?: string;
      components: ManifestComponent[];
      sources: ManifestSource[];
      patches: FileRef[];
      tools: string[];
      memoryMap?: FileRef;
      artifacts: FileRef[];
    };
  }
}

/** The flashable release: compressed image, bmap, SHA256SUMS and manifest. */
export const releaseKind: ActionKind<SpecOf<'release'>> = {
  async run(spec, _task, ctx) {
    await (await import('../image.js')).runRelease(spec, ctx);
    return {};
  },
  describe: (spec) => [`bmaptool create ${shellQuote(spec.image.path)}; ${spec.compress} copy; SHA256SUMS; manifest.json`],
};
