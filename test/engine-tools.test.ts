import { chmodSync, existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ToolVersions, which } from '../src/host/tools.js';
import { Rig } from './util/rig.js';

/** Tool-version probes: never read standard input, one probe per installed program, remembered across runs. */
describe('tool versions', () => {
  const rig = new Rig('xenbuild-tools-');
  const bin = join(rig.dir, 'bin');
  const calls = join(rig.dir, 'calls');
  const savedPath = process.env.PATH;
  const tool = (name: string, body: string) => {
    const p = rig.write(`../bin/${name}`, `#!/bin/sh\necho "$0 $*" >> ${JSON.stringify(calls)}\n${body}`);
    chmodSync(p, 0o755);
    return p;
  };
  const probes = () => readFileSync(calls, 'utf8').trim().split('\n');
  afterAll(() => {
    process.env.PATH = savedPath;
    rig.dispose();
  });

  it('asks --version, then -V, with standard input closed: a program that would read it gets end-of-file at once', async () => {
    writeFileSync(calls, '');
    // Like dash's `sh -V`: no answer to --version, and -V reads commands from standard input.
    tool('shell', 'if [ "$1" = --version ]; then exit 2; fi\nif read line; then echo "read: $line"; else echo "shell 0.5.12, standard input closed"; fi\n');
    process.env.PATH = `${bin}:${savedPath}`;
    const versions = new ToolVersions(join(rig.dir, 'state', 'tools.json'));
    expect(await versions.version('shell')).toBe('shell 0.5.12, standard input closed');
    expect(probes().map((l) => l.split(' ').slice(1).join(' '))).toEqual(['--version', '-V']);
  });

  it('probes each program once however many tasks ask, and not again in a later run until the program changes', async () => {
    writeFileSync(calls, '');
    const path = tool('cc9', 'echo "cc9 (Debian 12.2.0-14) 12.2.0"\n');
    process.env.PATH = `${bin}:${savedPath}`;
    const cache = join(rig.dir, 'state', 'tools.json');
    const first = new ToolVersions(cache);
    const answers = await Promise.all([first.version('cc9'), first.version('cc9'), first.version('cc9')]);
    expect(answers).toEqual(Array(3).fill('cc9 (Debian 12.2.0-14) 12.2.0'));
    await first.save();
    expect(probes()).toHaveLength(1);
    // A later run reads the saved answer.
    expect(await new ToolVersions(cache).version('cc9')).toBe('cc9 (Debian 12.2.0-14) 12.2.0');
    expect(probes()).toHaveLength(1);
    // An upgraded program (new size or mtime) is asked again.
    tool('cc9', 'echo "cc9 (Debian 12.3.0-1) 12.3.0"\n');
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    expect(await new ToolVersions(cache).version('cc9')).toBe('cc9 (Debian 12.3.0-1) 12.3.0');
    expect(probes()).toHaveLength(2);
  });

  it('finds a program only as an executable file, in PATH order, skipping empty entries, directories and plain files', () => {
    const first = join(rig.dir, 'first');
    rig.write('../first/prog', 'not executable\n');
    rig.write('../first/dir/.keep', '');
    tool('prog', 'echo prog 1.0\n');
    chmodSync(join(first, 'dir'), 0o755);
    rig.write('../first/.keep', '');
    expect(which('prog', `::${first}:${bin}`)).toBe(join(bin, 'prog'));
    expect(which('dir', `${first}:${bin}`)).toBeUndefined();
  });

  it('a version printed by a program that exits non-zero still counts; saving with nothing new writes nothing', async () => {
    tool('grumpy', 'echo "grumpy 3.1 (exit 1 is how it says hello)"\nexit 1\n');
    process.env.PATH = `${bin}:${savedPath}`;
    const cache = join(rig.dir, 'state', 'grumpy.json');
    const versions = new ToolVersions(cache);
    expect(await versions.version('grumpy')).toBe('grumpy 3.1 (exit 1 is how it says hello)');
    await versions.save();
    const untouched = new ToolVersions(join(rig.dir, 'state', 'never.json'));
    await untouched.save();
    expect(existsSync(join(rig.dir, 'state', 'never.json'))).toBe(false);
    expect(JSON.parse(readFileSync(cache, 'utf8')).grumpy.version).toBe('grumpy 3.1 (exit 1 is how it says hello)');
  });

  it('a program with no version to tell is known by its content; one not installed is "missing"', async () => {
    tool('mute', 'exit 1\n');
    process.env.PATH = `${bin}:${savedPath}`;
    const versions = new ToolVersions(join(rig.dir, 'state', 'other.json'));
    expect(await versions.version('mute')).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(await versions.version('no-such-program-anywhere')).toBe('missing');
    expect(which('mute')).toBe(join(bin, 'mute'));
    expect(which('mute', '/nonexistent')).toBeUndefined();
  });
});
