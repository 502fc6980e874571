import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ActionContext } from '../../src/engine/action.js';
import { exec } from '../../src/host/process.js';
import { TaskFailure, type Failure } from '../../src/host/failure.js';

const created: string[] = [];

/** A fresh directory under the OS temp dir; removed by removeTempDirs(). */
export function makeTempDir(prefix = 'xenbuild-test-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Remove every directory made by makeTempDir (call from afterAll). */
export function removeTempDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_AUTHOR_DATE: '2020-01-01T00:00:00Z',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_DATE: '2020-01-01T00:00:00Z',
  GIT_CONFIG_NOSYSTEM: '1',
};

/** Run git in `cwd` (argv, no shell) and return its trimmed stdout. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'init.defaultBranch=main', '-c', 'advice.detachedHead=false', ...args], {
    cwd,
    env: GIT_ENV,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

/** Write files (relative path → content) under `dir`, creating directories. */
export function writeFiles(dir: string, files: Readonly<Record<string, string>>): void {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
}

/** Write `files`, commit everything with `message`, return the new commit id. */
export function commit(dir: string, files: Readonly<Record<string, string>>, message: string): string {
  writeFiles(dir, files);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}

/** A new non-bare repository at `dir` (created) with one commit of `files`; returns that commit. */
export function makeRepo(dir: string, files: Readonly<Record<string, string>>): string {
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q');
  return commit(dir, files, 'initial');
}

export interface TestContext extends ActionContext {
  /** Every line logged or printed by a command. */
  readonly lines: string[];
}

/** An ActionContext backed by the real exec of src/host/process.ts. */
export function makeContext(paths: { srcDir: string; cacheDir: string; mirrorDirs?: string[]; boardDir?: string }): TestContext {
  const lines: string[] = [];
  const boardDir = paths.boardDir ?? path.dirname(paths.srcDir);
  const signal = new AbortController().signal;
  return {
    taskId: 'test:fetch',
    srcDir: paths.srcDir,
    boardDir,
    cacheDir: paths.cacheDir,
    mirrorDirs: paths.mirrorDirs ?? [],
    signal,
    lines,
    log: (line) => lines.push(line),
    onGroup: () => undefined,
    exec: (argv, opts) =>
      exec(argv, {
        cwd: opts?.cwd ?? tmpdir(),
        env: opts?.env,
        capture: opts?.capture,
        signal,
        onLine: (line) => lines.push(line),
      }),
  };
}

/** The expected failure a promise rejects with; throws if it resolves or fails otherwise. */
export async function failureOf(promise: Promise<unknown>): Promise<Failure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof TaskFailure)) throw new Error(`expected a TaskFailure, got ${String(err)}`);
  return err.failure;
}
