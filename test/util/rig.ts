import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const XENBUILD = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'xenbuild.js');

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'rig',
  GIT_AUTHOR_EMAIL: 'rig@localhost',
  GIT_COMMITTER_NAME: 'rig',
  GIT_COMMITTER_EMAIL: 'rig@localhost',
  GIT_AUTHOR_DATE: '2015-05-18T16:18:42Z',
  GIT_COMMITTER_DATE: '2015-05-18T16:18:42Z',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' }).trim();
}

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** A throwaway project: its own recipes/, configs/boards/, patches/, upstream repos and build dir. */
export class Rig {
  readonly dir: string;
  constructor(prefix = 'xenbuild-rig-') {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    mkdirSync(join(this.dir, 'project', 'recipes'), { recursive: true });
    mkdirSync(join(this.dir, 'project', 'configs', 'boards'), { recursive: true });
    writeFileSync(join(this.dir, 'project', 'xenbuild.config.json'), JSON.stringify({ cacheDir: '../cache' }) + '\n');
  }

  get project(): string {
    return join(this.dir, 'project');
  }

  path(...parts: string[]): string {
    return join(this.project, ...parts);
  }

  write(rel: string, text: string): string {
    const p = this.path(rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
    return p;
  }

  read(rel: string): string {
    return readFileSync(this.path(rel), 'utf8');
  }

  /** An upstream git repository with the given files, one commit, optionally tagged; returns its path and commit. */
  upstream(name: string, files: Record<string, string>, tag?: string): { url: string; commit: string } {
    const repo = join(this.dir, 'upstream', name);
    mkdirSync(repo, { recursive: true });
    git(repo, 'init', '-q', '-b', 'main');
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(dirname(join(repo, rel)), { recursive: true });
      writeFileSync(join(repo, rel), text);
    }
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', `${name} import`);
    if (tag) git(repo, 'tag', tag);
    return { url: repo, commit: git(repo, 'rev-parse', 'HEAD') };
  }

  /**
   * Runs the real CLI in the project directory. The task cache is off unless
   * `env` sets XENBUILD_TASK_CACHE: these tests watch tasks run (task-cache.test.ts tests the cache).
   */
  xenbuild(args: string[], env: Record<string, string> = {}): CliResult {
    const r = spawnSync(process.execPath, [XENBUILD, ...args], {
      cwd: this.project,
      env: { ...process.env, CI: 'true', XENBUILD_TASK_CACHE: 'off', ...env },
      encoding: 'utf8',
      timeout: 300_000,
    });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** Starts the CLI without waiting, for kill and concurrency tests. */
  spawn(args: string[]) {
    return spawn(process.execPath, [XENBUILD, ...args], {
      cwd: this.project,
      env: { ...process.env, CI: 'true', XENBUILD_TASK_CACHE: 'off' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  report(board: string): { ok: boolean; tasks: { id: string; status: string; fingerprint?: string }[] } {
    return JSON.parse(this.read(`build/${board}/report.json`)) as never;
  }

  statuses(board: string): Record<string, string> {
    return Object.fromEntries(this.report(board).tasks.map((t) => [t.id, t.status]));
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
