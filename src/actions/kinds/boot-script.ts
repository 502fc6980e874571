import type { ActionKind } from '../../engine/action.js';
import type { SpecOf } from '../../model/graph.js';
import { shellQuote } from '../../util/shell.js';
import type { BootConfig, DomU, DtEdit, XenCommandLines } from '../../model/boot.js';

declare module '../../model/graph.js' {
  interface ActionSpecs {
    'boot-script': {
      board: string;
      boot: BootConfig;
      plan: FileRef;
      files: BootMediumFile[];
      cmdlines: XenCommandLines;
      edits: DtEdit[];
      /** dom0less guests, written into /chosen by the fdt commands (dtb.mode runtime). */
      domus?: DomU[];
      fdtAddr?: number;
      cmd: FileRef;
      output: FileRef;
      env?: FileRef;
    };
  }
}

/** The firmware's boot script (boot.scr or uEnv.txt), and an environment image when asked. */
export const bootScriptKind: ActionKind<SpecOf<'boot-script'>> = {
  async run(spec, _task, ctx) {
    await (await import('../boot.js')).runScript(spec, ctx);
    return {};
  },
  // boot.scr is boot.cmd wrapped by mkimage; uEnv.txt is written as it is (there is no boot.cmd then).
  describe: (spec) => [
    `write ${spec.boot.firmware === 'u-boot' ? `${spec.cmd.name} && mkimage -T script -d ${shellQuote(spec.cmd.path)} ${shellQuote(spec.output.path)}` : spec.output.name}${spec.env ? ` && mkenvimage → ${spec.env.name}` : ''}`,
  ],
};
