/** A board's dom0less guests (its `domus` section), read and checked with its boot sections. */
import type { DomU } from '../model/boot.js';
import type { Board } from '../model/schema.js';
import type { Artifact } from './board-common.js';
import type { ErrorFn } from './context.js';
import type { PathKey, YamlFile } from './yaml-file.js';

/** A guest with the artifacts of its modules, and its index in `domus` (for the board keys errors name). */
export interface DomUInput {
  domu: DomU;
  kernel: Artifact;
  ramdisk?: Artifact;
  at: number;
}

interface Readers {
  file: YamlFile;
  num: (value: number | string, at: PathKey[]) => number;
  artifact: (name: string, at: PathKey[]) => Artifact | undefined;
  problem: ErrorFn;
}

/** Each guest whose artifacts exist; problems (a repeated name, an unknown artifact) are reported where they are. */
export function readDomus(specs: NonNullable<Board['domus']>, { file, num, artifact, problem }: Readers): DomUInput[] {
  return specs.flatMap((d, at) => {
    if (specs.findIndex((o) => o.name === d.name) !== at) {
      problem(file, ['domus', at, 'name'], `two dom0less guests are named ${d.name}`, 'each guest is a node /chosen/<name>: give each its own name');
    }
    const kernel = artifact(d.kernel, ['domus', at, 'kernel']);
    const ramdisk = d.ramdisk === undefined ? undefined : artifact(d.ramdisk, ['domus', at, 'ramdisk']);
    if (!kernel || (d.ramdisk !== undefined && !ramdisk)) return [];
    const domu: DomU = {
      name: d.name,
      memory: num(d.memory, ['domus', at, 'memory']),
      vcpus: d.vcpus ?? 1,
      ...(d.bootargs !== undefined ? { bootargs: d.bootargs } : {}),
      vpl011: d.vpl011 ?? true,
      ramdisk: ramdisk !== undefined,
    };
    return [{ domu, kernel, ...(ramdisk ? { ramdisk } : {}), at }];
  });
}

/** The guests as an action spec carries them: none when the board has none. */
export function domusOf(i: { domus: readonly DomUInput[] }): { domus?: DomU[] } {
  return i.domus.length > 0 ? { domus: i.domus.map((d) => d.domu) } : {};
}
