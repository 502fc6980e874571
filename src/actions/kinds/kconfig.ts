import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ActionKind } from '../../engine/action.js';
import type { SpecOf } from '../../model/graph.js';
import { shellQuote } from '../../util/shell.js';

declare module '../../model/graph.js' {
  interface ActionSpecs {
    /** make argv of defconfig and olddefconfig (each starting with "make"), the .config they write, and the fragments laid between. */
    kconfig: { config: string; fragments: FileRef[]; defconfig: string[]; olddefconfig: string[] };
  }
}

/** A Kconfig tree's configuration: defconfig, the recipe's fragments merged over it, olddefconfig, every setting checked. */
export const kconfigKind: ActionKind<SpecOf<'kconfig'>> = {
  async run(spec, task, ctx) {
    for (const dir of new Set([task.cwd, dirname(spec.config)])) await mkdir(dir, { recursive: true });
    const env = { ...task.env };
    const { runKconfig } = await import('../kconfig.js');
    await runKconfig({
      config: spec.config,
      fragments: spec.fragments,
      defconfig: spec.defconfig,
      olddefconfig: spec.olddefconfig,
      log: ctx.log,
      make: (argv) => ctx.exec(argv, { cwd: task.cwd, env }),
    });
    return {};
  },
  describe: (spec, task) => {
    const make = (argv: readonly string[]) => `(cd ${shellQuote(task.cwd)} && ${argv.map(shellQuote).join(' ')})`;
    return [
      make(spec.defconfig),
      ...(spec.fragments.length > 0 ? [`merge ${spec.fragments.map((f) => f.name).join(', ')} into ${shellQuote(spec.config)}`] : []),
      make(spec.olddefconfig),
    ];
  },
  cacheable: true,
};
