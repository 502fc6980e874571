import type { ActionRegistry } from '../engine/action.js';
import { artifactKind } from './kinds/artifact.js';
import { bootCheckKind } from './kinds/boot-check.js';
import { bootDtbKind } from './kinds/boot-dtb.js';
import { bootPlanKind } from './kinds/boot-plan.js';
import { bootScriptKind } from './kinds/boot-script.js';
import { busyboxRootKind } from './kinds/busybox-root.js';
import { fetchDebianBinaryKind } from './kinds/fetch-debian-binary.js';
import { fetchDebianPackagesKind } from './kinds/fetch-debian-packages.js';
import { fetchDebianSourceKind } from './kinds/fetch-debian-source.js';
import { fetchGitKind } from './kinds/fetch-git.js';
import { fetchTarballKind } from './kinds/fetch-tarball.js';
import { imageKind } from './kinds/image.js';
import { kconfigKind } from './kinds/kconfig.js';
import { patchKind } from './kinds/patch.js';
import { releaseKind } from './kinds/release.js';
import { runKind } from './kinds/run.js';
import { uimageKind } from './kinds/uimage.js';

/**
 * Every kind of action the scheduler can run, one module each under kinds/.
 * A new kind is its module (which declares its spec, see model/graph.ts ActionSpecs) and its line here.
 */
export const ACTIONS: ActionRegistry = {
  'fetch-git': fetchGitKind,
  'fetch-tarball': fetchTarballKind,
  'fetch-debian-source': fetchDebianSourceKind,
  'fetch-debian-binary': fetchDebianBinaryKind,
  'fetch-debian-packages': fetchDebianPackagesKind,
  patch: patchKind,
  run: runKind,
  kconfig: kconfigKind,
  artifact: artifactKind,
  'busybox-root': busyboxRootKind,
  image: imageKind,
  release: releaseKind,
  uimage: uimageKind,
  'boot-plan': bootPlanKind,
  'boot-dtb': bootDtbKind,
  'boot-script': bootScriptKind,
  'boot-check': bootCheckKind,
};
