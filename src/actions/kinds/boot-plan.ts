import type { ActionKind } from '../../engine/action.js';
import type { ActionSpec } from '../../model/graph.js';

/** Where each boot module goes in RAM: the plan, its table and its drawing. */
export const bootPlanKind: ActionKind<Extract<ActionSpec, { kind: 'boot-plan' }>> = {
  async run(spec, _task, ctx) {
    await (await import('../boot.js')).runPlan(spec, ctx);
    return {};
  },
  describe: (spec) => [`plan ${spec.modules.map((m) => m.kind).join(', ')} in RAM → ${spec.json.name}, ${spec.svg.name}`],
};
