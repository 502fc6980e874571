import path from 'node:path';
import type { Settings } from '../../src/config.js';

/** Settings for analysing the project at `root` (its recipes/ and configs/boards/), building under `scratch`. */
export function projectSettings(root: string, scratch: string, jobs = 2): Settings {
  return {
    root,
    workdir: path.join(scratch, 'build'),
    cacheDir: path.join(scratch, 'cache'),
    mirrors: [],
    jobs,
    recipeDirs: [{ dir: path.join(root, 'recipes'), root }],
    boardDirs: [{ dir: path.join(root, 'configs', 'boards'), root }],
    taskCache: [],
  };
}
