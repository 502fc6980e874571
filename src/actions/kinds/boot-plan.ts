import type { ActionKind } from '../../engine/action.js';
import type { SpecOf } from '../../model/graph.js';
import type { BootMemory, Range } from '../../model/boot.js';

declare module '../../model/graph.js' {
  interface ActionSpecs {
    'boot-plan': {
      memory: BootMemory;
      modules: PlannedModule[];
      xenRelocates: boolean;
      /** Xen is a uImage: bootm copies its payload to this load address, so that area is taken too. */
      bootmCopy?: { load: number };
      dom0?: Range[];
      dom0Mem?: number;
      json: FileRef;
      svg: FileRef;
    };
  }
}

/** Where each boot module goes in RAM: the plan, its table and its drawing. */
export const bootPlanKind: ActionKind<SpecOf<'boot-plan'>> = {
  async run(spec, _task, ctx) {
    await (await import('../boot.js')).runPlan(spec, ctx);
    return {};
  },
  describe: (spec) => [`plan ${spec.modules.map((m) => m.kind).join(', ')} in RAM → ${spec.json.name}, ${spec.svg.name}`],
};
