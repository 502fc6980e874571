/**
 * Kconfig fragments: merged over the defconfig's .config, resolved by the
 * tree's olddefconfig, and every setting checked afterwards. The tree here is
 * a stand-in (a Makefile whose olddefconfig drops an option whose dependency
 * is off, as Kconfig does); CI proves it on U-Boot's and Xen's own Kconfig
 * (qemu-arm32's no-countdown U-Boot and its debug profile's Xen).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lostSettings, mergeSettings, parseFragment } from '../src/actions/kconfig.js';
import { Rig } from './util/rig.js';

describe('Kconfig fragments', () => {
  it('are read line by line: a setting, "=n" and "is not set" as unset, comments skipped, anything else refused with its place', () => {
    expect(parseFragment('# debug\nCONFIG_DEBUG=y\nCONFIG_A=n\n# CONFIG_B is not set\n\nCONFIG_S="x y"\n', 'f.config')).toEqual([
      { symbol: 'CONFIG_DEBUG', value: 'y', at: 'f.config:2' },
      { symbol: 'CONFIG_A', value: null, at: 'f.config:3' },
      { symbol: 'CONFIG_B', value: null, at: 'f.config:4' },
      { symbol: 'CONFIG_S', value: '"x y"', at: 'f.config:6' },
    ]);
    expect(() => parseFragment('CONFIG_OK=y\nDEBUG=y\n', 'f.config')).toThrow('f.config:2: "DEBUG=y" is not a Kconfig setting');
  });

  it("are written over the symbol's own line, or appended, the last word winning", () => {
    const merged = mergeSettings('CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=3\n', [
      ...parseFragment('CONFIG_B=y\nCONFIG_A=n\nCONFIG_D=0x10\n', 'one'),
      ...parseFragment('CONFIG_D=0x20\n', 'two'),
    ]);
    expect(merged).toBe('# CONFIG_A is not set\nCONFIG_B=y\nCONFIG_C=3\nCONFIG_D=0x20\n');
  });

  it('name each setting the resolved .config does not keep', () => {
    const settings = parseFragment('CONFIG_A=y\nCONFIG_GONE=y\n# CONFIG_C is not set\nCONFIG_D=n\n', 'f');
    const lost = lostSettings('CONFIG_A=y\nCONFIG_C=y\n', settings);
    expect(lost.map((l) => [l.setting.at, l.found])).toEqual([
      ['f:2', undefined],
      ['f:3', 'y'],
    ]);
  });
});

/** A stand-in Kconfig tree: defconfig writes A and B off; olddefconfig drops DEP_ON_A unless A is on. */
const MAKEFILE = `O ?= .
defconfig:
\tprintf '# CONFIG_A is not set\\nCONFIG_B=y\\n' > $(O)/.config
olddefconfig:
\tpython3 ${'$'}(dir $(lastword $(MAKEFILE_LIST)))olddefconfig.py $(O)/.config
`;
const OLDDEFCONFIG = `import sys
path = sys.argv[1]
lines = open(path).read().splitlines()
a_on = "CONFIG_A=y" in lines
out = [l for l in lines if a_on or not l.startswith("CONFIG_DEP_ON_A=")]
open(path, "w").write("\\n".join(out) + "\\n")
`;

describe('a kconfig task', () => {
  const rig = new Rig();
  const board = (fragments: string) => {
    rig.write(
      'recipes/kc.yaml',
      `recipe: kc
variables:
  fragment: ""
tasks:
  configure:
    kconfig:
      config: "\${builddir}/.config"
      defconfig: [-f, "\${root}/tree/Makefile", "O=\${builddir}", defconfig]
      fragments: [${fragments}]
      olddefconfig: [-f, "\${root}/tree/Makefile", "O=\${builddir}", olddefconfig]
exports:
  kc.config: "\${builddir}/.config"
`,
    );
  };
  beforeAll(() => {
    rig.write('tree/Makefile', MAKEFILE);
    rig.write('tree/olddefconfig.py', OLDDEFCONFIG);
    rig.write('frag/a.config', '# turn A on, and what needs it\nCONFIG_A=y\nCONFIG_DEP_ON_A=y\n');
    rig.write('frag/broken.config', 'CONFIG_DEP_ON_A=y\n');
    rig.write('configs/boards/k.yaml', 'board: k\ncomponents:\n  kc: kc\n');
  });
  afterAll(() => rig.dispose());

  it('merges the fragments between defconfig and olddefconfig, and reruns when a fragment changes', () => {
    board('"${root}/frag/a.config", "${fragment}"');
    let r = rig.xenbuild(['all', '--board', 'k']);
    expect(r.stdout + r.stderr).not.toContain('FAILED');
    expect(r.status).toBe(0);
    expect(rig.read('build/k/deploy/kc.config')).toBe('CONFIG_A=y\nCONFIG_B=y\nCONFIG_DEP_ON_A=y\n');
    expect(rig.read('build/k/logs/kc:configure.log')).toContain('2 fragment settings from frag/a.config: every one held after olddefconfig');
    rig.write('frag/a.config', 'CONFIG_A=y\nCONFIG_DEP_ON_A=y\n# CONFIG_B is not set\n');
    r = rig.xenbuild(['all', '--board', 'k']);
    expect(r.stdout).toMatch(/run +kc:configure \(frag\/a\.config changed/);
    expect(rig.read('build/k/deploy/kc.config')).toBe('CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_DEP_ON_A=y\n');
  });

  it('fails, naming the fragment line, when olddefconfig drops a setting', () => {
    board('"${root}/frag/broken.config"');
    const r = rig.xenbuild(['all', '--board', 'k']);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('frag/broken.config:1: CONFIG_DEP_ON_A=y did not hold: is not in the resolved .config');
  });

  it('refuses a fragment that does not exist, at analysis', () => {
    board('"${root}/frag/none.config"');
    const r = rig.xenbuild(['list', '--board', 'k']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/kc\.yaml:\d+:\d+: error: input ".*frag\/none\.config" does not exist/);
  });
});
