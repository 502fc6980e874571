import { basename, dirname, join } from 'node:path';

/**
 * Every path xenbuild keeps under a board's directory, <workdir>/<board>/, in
 * one place: what the runner writes, what the commands read, what analysis
 * reserves.
 *
 *   src/<component>/     source trees          build/<component>/   out-of-tree builds
 *   deploy/              artifacts, the image  logs/<task>.log      one log per task; boot.log, boot.json
 *   state/               stamps, caches        report.json, .lock, tmp/
 */
export interface BoardLayout {
  dir: string;
  src(component: string): string;
  build(component: string): string;
  deploy: string;
  /** deploy/<board>.img */
  image: string;
  logs: string;
  log(taskOrName: string): string;
  state: string;
  hashes: string;
  tools: string;
  analysis: string;
  /** state/running: process groups of tasks in flight. */
  running: string;
  report: string;
  lock: string;
  /** tmp/: scratch space of image builds. */
  tmp: string;
}

/** Directories under the board directory that xenbuild keeps for itself: no task output may be in them. */
export const OWN_DIRS: readonly string[] = ['state', 'logs'];
/** Directories under the board directory that hold every component's files: no task output may be one of them whole. */
export const SHARED_DIRS: readonly string[] = ['deploy', 'src', 'build'];

export function boardLayout(workdir: string, board: string): BoardLayout {
  const dir = join(workdir, board);
  const state = join(dir, 'state');
  const logs = join(dir, 'logs');
  const deploy = join(dir, 'deploy');
  return {
    dir,
    src: (component) => join(dir, 'src', component),
    build: (component) => join(dir, 'build', component),
    deploy,
    image: join(deploy, `${board}.img`),
    logs,
    log: (name) => join(logs, `${name}.log`),
    state,
    hashes: join(state, 'hashes.json'),
    tools: join(state, 'tools.json'),
    analysis: join(state, 'analysis.json'),
    running: join(state, 'running'),
    report: join(dir, 'report.json'),
    lock: join(dir, '.lock'),
    tmp: join(dir, 'tmp'),
  };
}

/** The layout of an analysed board (its directory is <workdir>/<board>: a board name is never a path). */
export function layoutOf(graph: { boardDir: string; board: string }): BoardLayout {
  return boardLayout(dirname(graph.boardDir), graph.board);
}

/** The layout of the board whose directory is `boardDir` (what an action is handed). */
export function layoutAt(boardDir: string): BoardLayout {
  return boardLayout(dirname(boardDir), basename(boardDir));
}
