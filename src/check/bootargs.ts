/** Reading Xen's and Linux's command lines the way they do: space-separated key=value words, the last one winning. */
import type { DtTree } from '../dt/model.js';

/** The value of the last `key=` word, or undefined. */
export function argValue(cmdline: string, key: string): string | undefined {
  let value: string | undefined;
  for (const w of cmdline.split(/\s+/)) if (w.startsWith(key + '=')) value = w.slice(key.length + 1);
  return value;
}

/** Every value of `key=` words ("console=ttyS0 console=hvc0" → ["ttyS0", "hvc0"]). */
export function argValues(cmdline: string, key: string): string[] {
  return cmdline
    .split(/\s+/)
    .filter((w) => w.startsWith(key + '='))
    .map((w) => w.slice(key.length + 1));
}

/** Whether Xen's console includes dtuart: `console=` lists it, or there is no `console=` (ARM's default is dtuart). */
export function xenUsesDtuart(xenBootargs: string): boolean {
  const consoles = argValue(xenBootargs, 'console');
  return consoles === undefined || consoles.split(',').includes('dtuart');
}

/** The number of CPU nodes under /cpus. */
export function cpuNodes(tree: DtTree): number {
  return tree.nodeAt('/cpus')?.children.filter((c) => c.string('device_type') === 'cpu').length ?? 0;
}
