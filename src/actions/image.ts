import { readFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { ImageError } from '../image/error.js';
import { buildImage } from '../image/build.js';
import { LayoutError, validateLayout } from '../image/layout.js';
import { release, sha256File } from '../image/release.js';
import { TaskFailure } from '../host/failure.js';
import { ToolVersions } from '../host/tools.js';
import { layoutAt } from '../model/board-layout.js';
import type { SpecOf } from '../model/graph.js';
import { xenbuildVersion } from '../util/install.js';
import type { ActionContext } from '../engine/action.js';

/** Expected image problems (a missing input, a layout that cannot be) are task failures, not crashes. */
async function imageStep<T>(name: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof ImageError || err instanceof LayoutError) throw new TaskFailure({ reason: 'bad-artifact', path: name, message: err.message });
    throw err;
  }
}

/** The card image, made by genimage; it appears in deploy/ only when complete. */
export async function runImage(a: SpecOf<'image'>, ctx: ActionContext): Promise<void> {
  const layout = await imageStep(a.output.name, async () => validateLayout(a.layout));
  const built = await imageStep(a.output.name, () =>
    buildImage({
      layout,
      name: a.name,
      workDir: layoutAt(ctx.boardDir).tmp,
      outDir: dirname(a.output.path),
      signal: ctx.signal,
      onLine: ctx.log,
      onGroup: ctx.onGroup,
    }),
  );
  for (const p of built.partitions) ctx.log(`partition ${p.name}: offset ${p.offset}, ${p.size} bytes`);
}

/** What a release is made of: the bmap, a compressed copy, manifest.json and SHA256SUMS. */
export async function runRelease(a: SpecOf<'release'>, ctx: ActionContext): Promise<void> {
  const outDir = dirname(a.image.path);
  const tools = new ToolVersions(layoutAt(ctx.boardDir).tools);
  const toolVersions = await Promise.all(a.tools.map(async (name) => ({ name, version: await tools.version(name) })));
  await tools.save();
  const patches = await Promise.all(a.patches.map(async (p) => ({ path: p.name, sha256: await sha256File(p.path) })));
  const memoryMap = a.memoryMap ? (JSON.parse(readFileSync(a.memoryMap.path, 'utf8')) as unknown) : null;
  const result = await imageStep(a.image.name, () =>
    release({
      image: a.image.path,
      outDir,
      compress: a.compress,
      level: a.level,
      manifest: {
        board: a.board,
        ...(a.profile ? { profile: a.profile } : {}),
        xenbuildVersion: xenbuildVersion(),
        components: a.components,
        sources: a.sources,
        patches,
        tools: toolVersions,
        memoryMap,
      },
      artifacts: a.artifacts.map((f) => relative(outDir, f.path)),
      signal: ctx.signal,
      onLine: ctx.log,
    }),
  );
  ctx.log(`release: ${[result.bmap, result.compressed, result.manifest, result.sums].map((p) => relative(ctx.boardDir, p)).join(', ')}`);
}
