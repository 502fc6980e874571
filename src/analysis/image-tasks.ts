import { layoutProblems, type FatFile, type ImageLayout, type Partition } from '../image/layout.js';
import type { ManifestComponent, ManifestSource } from '../image/release.js';
import type { FileRef, TaskNode } from '../model/graph.js';
import type { Board } from '../model/schema.js';
import { boardTask, deployFile, exportedArtifacts, sizeReader } from './board-common.js';
import type { Loaded } from './load.js';
import { didYouMean } from './suggest.js';
import type { ErrorFn } from './context.js';
import type { PathKey } from './yaml-file.js';

/** Artifact names taken for root file system tarballs; any other `from:` is a directory. */
const TARBALL = /\.(tar(\.(gz|xz|zst|bz2))?|tgz|txz|tbz2)$/;

/** The component name of the image tasks. */
export const IMAGE = 'image';

/**
 * image:sdcard (the card image, made by genimage, after the pre-flight check)
 * and image:release (bmap, compressed copy, SHA256SUMS, manifest.json), from
 * the board's image section. Files are named by artifact: a boot file
 * xenbuild made (deploy/boot/) wins over a component's export of that name.
 */
export function imageTasks(
  board: Loaded<Board>,
  boardDir: string,
  tasks: readonly TaskNode[],
  error: ErrorFn,
  release: { profile?: string; components: ManifestComponent[] } = { components: [] },
): TaskNode[] {
  const image = board.value.image;
  if (!image) return [];
  const file = board.file;
  const artifacts = exportedArtifacts(tasks);
  for (const t of tasks) {
    for (const o of t.outputs) if (o.name.startsWith('deploy/boot/')) artifacts.set(baseName(o.name), { producer: t.id, file: o });
  }
  const deps = new Set<string>();
  const used: FileRef[] = [];
  const partitions = imagePartitions(board, artifacts, deps, used, error);
  if (!partitions) return [];
  const layout: ImageLayout = { table: image.table ?? 'mbr', partitions };
  // The whole layout, decided here rather than after the build: overlaps, sizes a type cannot have, unsafe names.
  const problems = layoutProblems(layout);
  reportLayoutProblems(board, problems, error);
  if (problems.length) return [];
  // The card is made only after the pre-flight check says it would boot.
  const check = tasks.find((t) => t.action.kind === 'boot-check');
  if (check) deps.add(check.id);

  const deploy = (name: string): FileRef => deployFile(boardDir, name);
  const name = board.value.board;
  const img = deploy(`${name}.img`);
  const compress = image.compress ?? 'zst';
  const level = image['compress-level'] ?? (compress === 'zst' ? 10 : 6);
  if (compress === 'xz' && level > 9)
    error(file, ['image', 'compress-level'], `xz compresses at levels 1 to 9, not ${level}`, 'use 1–9 with compress: xz (19 is a zstd level)');
  const node = (taskName: string, title: string, taskDeps: string[], action: TaskNode['action'], outputs: FileRef[], tools: string[]): TaskNode =>
    boardTask(IMAGE, boardDir, name, { name: taskName, title, deps: taskDeps, action, outputs, tools });
  const sources = manifestSources(tasks);
  const patches = tasks.flatMap((t) => (t.action.kind === 'patch' ? t.action.patches : []));
  const plan = tasks.find((t) => t.action.kind === 'boot-plan');
  const memoryMap = plan?.action.kind === 'boot-plan' ? plan.action.json : undefined;
  const releaseOutputs = [deploy(`${name}.img.bmap`), deploy(`${name}.img.${compress}`), deploy('manifest.json'), deploy('SHA256SUMS')];
  return [
    node(
      'sdcard',
      `${layout.table} image: ${partitions.map((p) => `${p.name} (${p.type})`).join(', ')}`,
      [...deps],
      { kind: 'image', layout, name, output: img },
      [img],
      ['genimage', 'faked-sysv', 'mkfs.vfat', 'mcopy', 'mke2fs', 'sfdisk', 'fallocate'],
    ),
    node(
      'release',
      `bmap, ${compress} copy, SHA256SUMS and manifest.json`,
      [`${IMAGE}:sdcard`, ...(plan ? [plan.id] : [])],
      {
        kind: 'release',
        board: name,
        ...(release.profile ? { profile: release.profile } : {}),
        components: release.components,
        image: img,
        compress,
        level,
        outputs: releaseOutputs,
        sources,
        patches,
        tools: [...new Set(tasks.flatMap((t) => t.tools))].sort(),
        ...(memoryMap ? { memoryMap } : {}),
        artifacts: dedupe(used),
      },
      releaseOutputs,
      ['bmaptool', compress === 'zst' ? 'zstd' : 'xz'],
    ),
  ];
}

/**
 * The board's partitions with every artifact they name found; each artifact's
 * producer joins `deps`, and each listed file `used`. Undefined (errors reported) when one is missing.
 */
function imagePartitions(
  board: Loaded<Board>,
  artifacts: Map<string, { producer: string; file: FileRef }>,
  deps: Set<string>,
  used: FileRef[],
  error: ErrorFn,
): Partition[] | undefined {
  const image = board.value.image!;
  const file = board.file;
  let ok = true;
  /** The file an artifact name stands for; `listed`: it goes into SHA256SUMS and the manifest (a directory cannot). */
  const artifact = (name: string, at: PathKey[], listed = true) => {
    const found = artifacts.get(name);
    if (!found) {
      ok = false;
      error(file, at, `no artifact "${name}"${didYouMean(name, artifacts.keys())}`, `artifacts: ${[...artifacts.keys()].sort().join(', ')}`);
      return undefined;
    }
    deps.add(found.producer);
    if (listed) used.push(found.file);
    return found.file;
  };
  const sizes = sizeReader(file, error);
  const size = sizes.num;
  const partitions: Partition[] = image.partitions.map((p, i) => {
    const at: PathKey[] = ['image', 'partitions', i];
    const part: Partition = { name: p.name, type: p.type, size: size(p.size, [...at, 'size']) };
    if (p.offset !== undefined) part.offset = size(p.offset, [...at, 'offset']);
    if (p.bootable) part.bootable = true;
    if (p.label !== undefined) part.label = p.label;
    if (p.files) {
      part.files = p.files.flatMap((f, j): FatFile[] => {
        const name = typeof f === 'string' ? f : f.artifact;
        const ref = artifact(name, [...at, 'files', j]);
        return ref ? [{ from: ref.path, to: typeof f === 'string' ? f : f.as }] : [];
      });
    }
    if (p.from !== undefined) {
      // A root file system tarball, or else a directory (a tree a task made, copied into deploy/).
      const tarball = TARBALL.test(p.from);
      const ref = artifact(p.from, [...at, 'from'], tarball);
      if (ref) part.from = tarball ? { tarball: ref.path } : { dir: ref.path };
    }
    if (p.image !== undefined) {
      const ref = artifact(p.image, [...at, 'image']);
      if (ref) part.image = ref.path;
    }
    return part;
  });
  return ok && !sizes.failed() ? partitions : undefined;
}

/** Each layout problem at the partition (and key) it names in the board file. */
function reportLayoutProblems(board: Loaded<Board>, problems: readonly string[], error: ErrorFn): void {
  const file = board.file;
  for (const problem of problems) {
    const m = /^image\.partitions\[(\d+)\](?:\.(\w+))?/.exec(problem);
    const at: PathKey[] = m
      ? [
          'image',
          'partitions',
          Number(m[1]),
          ...(m[2] && (board.value.image?.partitions[Number(m[1])] as Record<string, unknown> | undefined)?.[m[2]] !== undefined ? [m[2]] : []),
        ]
      : ['image'];
    error(file, at, problem, undefined, m ? undefined : file.spanAt(['image'], 'key'));
  }
}

/** The pinned source of each component, as the manifest records it. */
function manifestSources(tasks: readonly TaskNode[]): ManifestSource[] {
  return tasks.flatMap((t): ManifestSource[] => {
    const a = t.action;
    switch (a.kind) {
      case 'fetch-git':
        return [{ component: t.component, kind: 'git', url: a.source.git, commit: a.source.commit, ...(a.source.ref ? { ref: a.source.ref } : {}) }];
      case 'fetch-tarball':
        return [{ component: t.component, kind: 'tarball', url: a.source.tarball, sha256: a.source.sha256 }];
      case 'fetch-debian-source':
        return [{ component: t.component, kind: 'debian-source', url: a.source['debian-source'], version: a.source.version }];
      case 'fetch-debian-packages':
        return Object.entries(a.source['debian-packages'])
          .sort(([x], [y]) => (x < y ? -1 : 1))
          .map(([pkg, version]) => ({ component: t.component, kind: 'debian-binary', url: `${pkg}:${a.source.arch ?? 'armhf'}`, version }));
      case 'fetch-debian-binary':
        return [{ component: t.component, kind: 'debian-binary', url: `${a.source['debian-binary']}:${a.source.arch ?? 'armhf'}`, version: a.source.version }];
      default:
        return [];
    }
  });
}

function baseName(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

function dedupe(refs: FileRef[]): FileRef[] {
  const seen = new Set<string>();
  return refs.filter((r) => !seen.has(r.path) && seen.add(r.path));
}
