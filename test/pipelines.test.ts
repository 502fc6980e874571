/**
 * The CI pipelines in the repository (.github/workflows/image.yml and
 * .gitlab-ci.yml) run as they are: every `xenbuild` command they run exists
 * and takes the options given, each board they build analyses with --frozen
 * against the committed lock, both boot qemu-arm32 and keep each board's
 * deploy/, and their caches are keyed by the lock.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { makeTempDir, removeTempDirs } from './util/tmp.js';

afterAll(removeTempDirs);

const ROOT = path.resolve(import.meta.dirname, '..');
const XENBUILD = path.join(ROOT, 'bin', 'xenbuild.js');
const cli = (args: string[]) => spawnSync(process.execPath, [XENBUILD, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: 'true' } });

type Job = Record<string, unknown> & { variables?: Record<string, string>; script?: string[]; before_script?: string[]; after_script?: string[] };

/** Every `npx xenbuild …` line of the GitHub workflow, one per matrix entry, expressions filled in. */
function githubCommands(): string[] {
  const wf = parse(readFileSync(path.join(ROOT, '.github/workflows/image.yml'), 'utf8')) as {
    jobs: Record<string, { strategy?: { matrix: { include: Record<string, unknown>[] } }; steps: { run?: string; if?: string }[] }>;
  };
  const out: string[] = [];
  for (const job of Object.values(wf.jobs)) {
    for (const entry of job.strategy?.matrix.include ?? [{}]) {
      for (const step of job.steps) {
        if (!step.run) continue;
        const flag = /^matrix\.(\w+)$/.exec(step.if ?? '')?.[1];
        if (flag !== undefined && !entry[flag]) continue;
        const text = step.run.replace(/\$\{\{\s*matrix\.(\w+)\s*\}\}/g, (_m, k: string) => String(entry[k]));
        expect(text, 'an expression the test does not fill in').not.toMatch(/\$\{\{\s*matrix/);
        out.push(...lines(text));
      }
    }
  }
  return out;
}

/** Every `npx xenbuild …` line of the GitLab pipeline, $BOARD and the job's variables filled in. */
function gitlabCommands(): string[] {
  const ci = parse(readFileSync(path.join(ROOT, '.gitlab-ci.yml'), 'utf8')) as Record<string, Job>;
  const out: string[] = [];
  for (const [name, job] of Object.entries(ci)) {
    if (name.startsWith('.') || typeof job !== 'object' || !('stage' in job || 'extends' in job)) continue;
    const base = typeof job.extends === 'string' ? ci[job.extends]! : {};
    const vars = { ...(base.variables ?? {}), ...(job.variables ?? {}) };
    for (const key of ['before_script', 'script', 'after_script'] as const) {
      for (const line of job[key] ?? base[key] ?? []) out.push(...lines(line.replace(/\$(\w+)/g, (m, k: string) => vars[k] ?? m)));
    }
  }
  return out;
}

const lines = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('npx xenbuild '));

/** The options a command takes (its own and the global ones), read from its --help. */
function optionsOf(command: string[]): Set<string> {
  const help = cli([...command, '--help']);
  expect(help.status, `xenbuild ${command.join(' ')} does not exist`).toBe(0);
  const global = cli(['--help']).stdout;
  return new Set([...`${help.stdout}\n${global}`.matchAll(/(?:^|\s)(--[a-z][a-z-]*|-[a-zA-Z])\b/g)].map((m) => m[1]!));
}

const NESTED = new Set(['cache']);

/** A command line's words: the command (with its subcommand) and the options it uses. */
function words(line: string): { command: string[]; options: string[]; args: string[] } {
  const tokens = line.split(/\s+/).slice(2);
  const command = [tokens[0]!];
  if (NESTED.has(tokens[0]!)) command.push(tokens[1]!);
  const rest = tokens.slice(command.length);
  return { command, options: rest.filter((t) => t.startsWith('-')), args: rest };
}

describe('the CI pipelines in the repository', () => {
  const pipelines = { github: githubCommands(), gitlab: gitlabCommands() };

  it.each(Object.keys(pipelines))('%s: every xenbuild command exists with the options it is given', (name) => {
    const commands = pipelines[name as keyof typeof pipelines];
    expect(commands.length).toBeGreaterThan(3);
    for (const line of commands) {
      const { command, options } = words(line);
      const known = optionsOf(command);
      for (const option of options) expect(known, `${line}: ${option}`).toContain(option);
    }
  });

  it.each(Object.keys(pipelines))('%s: builds both boards with --frozen, boots qemu-arm32, and prunes the task cache', (name) => {
    const commands = pipelines[name as keyof typeof pipelines];
    expect(commands).toContain('npx xenbuild all --board qemu-arm32 --frozen --reporter plain');
    expect(commands).toContain('npx xenbuild all --board dra7-evm --profile debian12 --frozen --reporter plain');
    expect(commands).toContain('npx xenbuild boot --board qemu-arm32 --reporter plain');
    expect(commands.some((c) => /^npx xenbuild cache prune --max-size \d+G$/.test(c))).toBe(true);
    // The guests: a dom0less domU, and dom0 with the toolstack.
    for (const profile of ['dom0less', 'toolstack'])
      expect(commands).toContain(`npx xenbuild boot --board qemu-arm32 --profile ${profile} --workdir build-guests --reporter plain`);
  });

  it('each board the pipelines build analyses with --frozen against the committed lock (a dry run)', () => {
    const scratch = makeTempDir('xenbuild-pipelines-');
    const builds = new Set([...pipelines.github, ...pipelines.gitlab].filter((l) => words(l).command[0] === 'all'));
    for (const line of builds) {
      const { args } = words(line);
      const r = cli(['all', ...args, '--dry-run', '--workdir', path.join(scratch, 'build'), '--cache-dir', path.join(scratch, 'cache')]);
      expect(r.status, `${line}\n${r.stderr}`).toBe(0);
      expect(r.stderr).not.toMatch(/warning|error/);
    }
  });

  it('both keep the deploy/ of each board and key their caches by the lock file', () => {
    const github = readFileSync(path.join(ROOT, '.github/workflows/image.yml'), 'utf8');
    const gitlab = readFileSync(path.join(ROOT, '.gitlab-ci.yml'), 'utf8');
    for (const text of [github, gitlab]) {
      for (const kept of [
        'deploy/*.img.zst',
        'deploy/*.img.bmap',
        'deploy/SHA256SUMS',
        'deploy/manifest.json',
        'deploy/memory-map.*',
        '/report.json',
        '/logs/',
      ]) {
        expect(text).toContain(kept);
      }
      expect(text).toMatch(/scripts\/setup\.sh/);
    }
    expect(github).toContain("hashFiles('xenbuild.lock.json')");
    expect(gitlab).toMatch(/files: \[xenbuild\.lock\.json\]/);
    // A release on tags, in both.
    expect(github).toMatch(/startsWith\(github\.ref, 'refs\/tags\/'\)/);
    expect(gitlab).toMatch(/if: \$CI_COMMIT_TAG/);
  });
});
