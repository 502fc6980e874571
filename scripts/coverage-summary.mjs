// Merges in-process and subprocess coverage line by line and prints, per folder
// of src/, the share of executable lines each reaches and both together.
// Executable lines are those of the in-process report (vitest's AST-aware
// V8 mapping); a line counts as reached when either report ran it.
import { readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import libCoverage from 'istanbul-lib-coverage';

const [inProcessFile, subprocessFile] = process.argv.slice(2);
const load = (file) => libCoverage.createCoverageMap(JSON.parse(readFileSync(file, 'utf8')));
const inProcess = load(inProcessFile);
const subprocess = load(subprocessFile);
const root = resolve('src');

const subLines = new Map();
for (const file of subprocess.files()) subLines.set(resolve(file), subprocess.fileCoverageFor(file).getLineCoverage());

const folders = new Map();
const total = { lines: 0, inProcess: 0, subprocess: 0, either: 0 };
for (const file of inProcess.files()) {
  const rel = relative(root, resolve(file));
  if (rel.startsWith('..')) continue;
  const folder = rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : '(top)';
  const row = folders.get(folder) ?? { lines: 0, inProcess: 0, subprocess: 0, either: 0 };
  folders.set(folder, row);
  const sub = subLines.get(resolve(file)) ?? {};
  for (const [line, hits] of Object.entries(inProcess.fileCoverageFor(file).getLineCoverage())) {
    const a = hits > 0;
    const b = (sub[line] ?? 0) > 0;
    for (const r of [row, total]) {
      r.lines++;
      if (a) r.inProcess++;
      if (b) r.subprocess++;
      if (a || b) r.either++;
    }
  }
}

const pct = (n, d) => (d === 0 ? '   -  ' : `${((100 * n) / d).toFixed(1).padStart(5)}%`);
const lines = [`${'folder'.padEnd(12)} ${'lines'.padStart(6)}  in-process  subprocess  together`];
for (const [folder, r] of [...folders].sort(([a], [b]) => a.localeCompare(b))) {
  lines.push(
    `${folder.padEnd(12)} ${String(r.lines).padStart(6)}  ${pct(r.inProcess, r.lines).padStart(10)}  ${pct(r.subprocess, r.lines).padStart(10)}  ${pct(r.either, r.lines).padStart(8)}`,
  );
}
lines.push(
  `${'all of src'.padEnd(12)} ${String(total.lines).padStart(6)}  ${pct(total.inProcess, total.lines).padStart(10)}  ${pct(total.subprocess, total.lines).padStart(10)}  ${pct(total.either, total.lines).padStart(8)}`,
);
const table = lines.join('\n');
writeFileSync('coverage/summary.txt', table + '\n');
console.log(`\ncoverage of src/ (executable lines reached)\n${table}`);
