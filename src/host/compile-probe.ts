/**
 * Proves that a C compiler works for its target, for `xenbuild doctor`: a
 * compiler binary can be installed while the C library it links against is
 * not (Debian's cross compilers only recommend it), and then every build fails
 * minutes in with "bits/libc-header-start.h: No such file or directory".
 *
 * The probe compiles and links a small program in a temp dir and reads the ELF
 * header of what came out:
 *   - hosted: `#include <stdio.h>` and `<stdlib.h>`, linked with the C library
 *     (what a cross-compiled user-space program, or a host tool built during a
 *     build, needs);
 *   - freestanding: the compiler's own headers only (`<stdarg.h>`, `<stdint.h>`),
 *     linked with `-nostdlib` (what a hypervisor, a kernel or a boot loader needs).
 * A failure names the compiler's first error and, when the fix is a package,
 * that package.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { C_LIBRARY_PACKAGES, debianPackageFor, type CompileKind } from './host-tools.js';

export interface CompileProbe {
  kind: CompileKind;
  ok: boolean;
  /** What the compiler builds for (`-dumpmachine`), e.g. arm-linux-gnueabihf. */
  target?: string;
  /** The ELF machine of the linked program, e.g. ARM. */
  machine?: string;
  /** Why it failed: the compiler's first error line, or what was wrong with its output. */
  error?: string;
  /** The Debian package whose absence explains the failure. */
  package?: string;
}

const PROGRAMS: Record<CompileKind, { source: string; flags: string[] }> = {
  hosted: {
    source: '#include <stdio.h>\n#include <stdlib.h>\nint main(void) { puts("xenbuild"); return EXIT_SUCCESS; }\n',
    flags: [],
  },
  freestanding: {
    source: [
      '#include <stdarg.h>',
      '#include <stddef.h>',
      '#include <stdint.h>',
      'uint32_t xenbuild_sum(size_t n, ...) { va_list ap; uint32_t s = 0; va_start(ap, n); while (n--) s += va_arg(ap, uint32_t); va_end(ap); return s; }',
      'void _start(void) { for (;;) (void)xenbuild_sum(2, 1u, 2u); }',
      '',
    ].join('\n'),
    flags: ['-ffreestanding', '-nostdlib', '-static'],
  },
};

/** ELF e_machine values of the targets xenbuild meets. */
const ELF_MACHINES: Record<number, string> = { 3: 'x86', 40: 'ARM', 62: 'x86-64', 183: 'AArch64', 243: 'RISC-V' };

/** The ELF machine a GNU target triple's programs have. */
function expectedMachine(target: string): string | undefined {
  const arch = target.split('-')[0] ?? '';
  if (/^arm/.test(arch)) return 'ARM';
  if (arch === 'aarch64') return 'AArch64';
  if (arch === 'x86_64') return 'x86-64';
  if (/^i[3-6]86$/.test(arch)) return 'x86';
  if (/^riscv/.test(arch)) return 'RISC-V';
  return undefined;
}

interface Run {
  status: number;
  output: string;
}

function run(argv: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(argv[0]!, argv.slice(1), { cwd, timeout: 60_000, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ status, output: `${stdout}${stderr}` });
    });
    child.stdin?.end();
  });
}

/** The first line of a compiler's output that says what went wrong. */
function firstError(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.find((l) => /error|cannot find|undefined reference|No such file/.test(l)) ?? lines[0] ?? 'no output';
}

/** The package to install for a failed probe: the C library for a hosted program, the compiler's own for its headers. */
function packageFor(compiler: string, kind: CompileKind, output: string): string | undefined {
  const missingHeader = /fatal error: [^:]+: No such file or directory/.test(output);
  const missingLibrary = /cannot find (?:-lc\b|crt1\.o|Scrt1\.o|crti\.o)/.test(output);
  if (kind === 'hosted' && (missingHeader || missingLibrary)) return C_LIBRARY_PACKAGES[basename(compiler)];
  if (missingHeader) return debianPackageFor(compiler);
  return undefined;
}

async function elfMachine(path: string): Promise<string | undefined> {
  const fd = await open(path, 'r');
  try {
    const head = Buffer.alloc(20);
    await fd.read(head, 0, 20, 0);
    if (head.readUInt32BE(0) !== 0x7f454c46) return undefined;
    const machine = head[5] === 2 ? head.readUInt16BE(18) : head.readUInt16LE(18);
    return ELF_MACHINES[machine] ?? `machine ${machine}`;
  } finally {
    await fd.close();
  }
}

/** Compiles and links the `kind` program with `compiler` (see the file comment). */
export async function probeCompiler(compiler: string, kind: CompileKind): Promise<CompileProbe> {
  const dir = await mkdtemp(join(tmpdir(), 'xenbuild-probe-'));
  try {
    const machine = await run([compiler, '-dumpmachine'], dir);
    if (machine.status !== 0) return { kind, ok: false, error: `${compiler} -dumpmachine failed: ${firstError(machine.output)}` };
    const target = machine.output.trim();
    const program = PROGRAMS[kind];
    await writeFile(join(dir, 'probe.c'), program.source);
    const built = await run([compiler, ...program.flags, '-o', 'probe', 'probe.c'], dir);
    if (built.status !== 0) {
      const pkg = packageFor(compiler, kind, built.output);
      return { kind, ok: false, target, error: firstError(built.output), ...(pkg ? { package: pkg } : {}) };
    }
    const got = await elfMachine(join(dir, 'probe'));
    const want = expectedMachine(target);
    if (!got) return { kind, ok: false, target, error: 'the linked program is not an ELF file' };
    if (want && got !== want) return { kind, ok: false, target, machine: got, error: `it made a ${got} program for a ${target} target` };
    return { kind, ok: true, target, machine: got };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
