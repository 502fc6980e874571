import { statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { sha256File } from './hasher.js';
import { readJsonState, recordsOf, writeFileAtomic } from '../util/fs.js';

interface Entry {
  path: string;
  size: number;
  mtimeMs: number;
  version: string;
}

/** Finds a program on PATH without spawning anything. */
export function which(tool: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, tool);
    try {
      const st = statSync(candidate);
      if (st.isFile() && (st.mode & 0o111) !== 0) return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/**
 * Versions of host tools, for fingerprints: the first line of `tool --version`,
 * asked once per installed binary and remembered by (path, size, mtime).
 */
export class ToolVersions {
  private entries: Record<string, Entry>;
  private dirty = false;
  private readonly pending = new Map<string, Promise<string>>();

  constructor(private readonly cachePath: string) {
    this.entries = recordsOf<Entry>(readJsonState(cachePath, (v): v is unknown => true));
  }

  /** "missing" when the tool is not installed. */
  version(tool: string): Promise<string> {
    let p = this.pending.get(tool);
    if (!p) {
      p = this.lookup(tool);
      this.pending.set(tool, p);
    }
    return p;
  }

  private async lookup(tool: string): Promise<string> {
    const path = which(tool);
    if (!path) return 'missing';
    const st = statSync(path);
    const known = this.entries[tool];
    if (known && known.path === path && known.size === st.size && known.mtimeMs === st.mtimeMs) return known.version;
    const version = (await askVersion(path)) ?? `sha256:${(await sha256File(path)).slice(0, 16)}`;
    this.entries[tool] = { path, size: st.size, mtimeMs: st.mtimeMs, version };
    this.dirty = true;
    return version;
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    await writeFileAtomic(this.cachePath, JSON.stringify(this.entries, null, 1));
  }
}

async function askVersion(path: string): Promise<string | undefined> {
  const { execFile } = await import('node:child_process');
  for (const flag of ['--version', '-V']) {
    const out = await new Promise<string | undefined>((resolve) => {
      const child = execFile(path, [flag], { timeout: 5000, env: { PATH: process.env.PATH ?? '', LC_ALL: 'C' } }, (err, stdout, stderr) => {
        const text = `${stdout}\n${stderr}`.split('\n').find((l) => /\d+\.\d+/.test(l));
        resolve(err && !text ? undefined : text?.trim());
      });
      // A probe never waits for input: standard input is closed at once.
      child.stdin?.end();
    });
    if (out) return out;
  }
  return undefined;
}
