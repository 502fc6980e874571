/**
 * Every way a task is expected to fail. Reporters switch over `reason`;
 * anything thrown that is not a TaskFailure is a bug in xenbuild.
 */
export type Failure =
  /** A process exited non-zero. */
  | { reason: 'exit-non-zero'; command: string[]; status: number }
  /** A process was killed by a signal it did not ask for. */
  | { reason: 'killed'; command: string[]; signal: string }
  /** A program the task runs is not installed. */
  | { reason: 'missing-tool'; tool: string; package?: string }
  /** A patch of the series does not apply; the tree is as it was before. */
  | { reason: 'patch-conflict'; patch: string; file?: string; hunk?: string; message: string }
  /** The source tree has local edits that applying patches would destroy. */
  | { reason: 'dirty-tree'; dir: string; files: string[] }
  /** A git tag or branch no longer points at the pinned commit. */
  | { reason: 'ref-moved'; url: string; ref: string; pinned: string; actual: string }
  /** The pinned commit is not in the repository (or its mirror). */
  | { reason: 'commit-missing'; url: string; commit: string; from: string }
  /** A download, clone or fetch did not succeed. */
  | { reason: 'fetch-failed'; url: string; message: string }
  /** A downloaded file does not have the pinned sha256. */
  | { reason: 'checksum-mismatch'; file: string; expected: string; actual: string }
  /** An archive entry would land outside the extraction directory. */
  | { reason: 'unsafe-archive-entry'; archive: string; entry: string; why: string }
  /** A declared output resolves (through a symlink) outside the board's build directory: never emptied, removed or written. */
  | { reason: 'output-escapes'; path: string; resolved: string }
  /** The task succeeded but a declared output does not exist. */
  | { reason: 'missing-output'; path: string }
  /** The boot modules do not fit the board's memory as declared. */
  | { reason: 'memory-plan'; errors: string[] }
  /** `xenbuild check` found errors: the image would not boot. */
  | { reason: 'check-failed'; errors: number; warnings: number; findings: string[] }
  /** A built artifact is not what the next step needs (not a uImage, not a DTB…). */
  | { reason: 'bad-artifact'; path: string; message: string }
  /** The run was cancelled (Ctrl-C, SIGTERM, or fail-fast after another failure). */
  | { reason: 'cancelled' };

/** Carries an expected failure from an action up to the runner. */
export class TaskFailure extends Error {
  constructor(readonly failure: Failure) {
    super(describeFailure(failure));
    this.name = 'TaskFailure';
  }
}

/** One human sentence for a failure, used by every reporter. */
export function describeFailure(f: Failure): string {
  switch (f.reason) {
    case 'exit-non-zero':
      return `${f.command.join(' ')} exited with status ${f.status}`;
    case 'killed':
      return `${f.command.join(' ')} was killed by ${f.signal}`;
    case 'missing-tool':
      return `${f.tool} is not installed${f.package ? ` (apt-get install ${f.package})` : ''}`;
    case 'patch-conflict':
      return `patch ${f.patch} does not apply${f.file ? ` to ${f.file}` : ''}${f.hunk ? ` (${f.hunk})` : ''}; the tree was left as it was\n${f.message}`;
    case 'dirty-tree':
      return `${f.dir} has local changes (${f.files.slice(0, 5).join(', ')}${f.files.length > 5 ? ', …' : ''}); save them as a patch (git -C ${f.dir} diff > my.patch) or discard them (xenbuild clean), then rerun`;
    case 'ref-moved':
      return `${f.url}: ${f.ref} now points at ${f.actual}, but the recipe pins ${f.pinned}; update the recipe's commit or ref`;
    case 'commit-missing':
      return `${f.url}: commit ${f.commit} is not in ${f.from}`;
    case 'fetch-failed':
      return `cannot fetch ${f.url}: ${f.message}`;
    case 'checksum-mismatch':
      return `${f.file} has sha256 ${f.actual}, the recipe pins ${f.expected}`;
    case 'unsafe-archive-entry':
      return `${f.archive}: entry ${f.entry} ${f.why}; refusing to extract`;
    case 'output-escapes':
      return `the declared output ${f.path} resolves to ${f.resolved}, outside the board's build directory (a symlink in the way): xenbuild neither empties nor writes it; remove the symlink or declare another output`;
    case 'missing-output':
      return `the task succeeded but its declared output ${f.path} does not exist`;
    case 'memory-plan':
      return `the boot modules do not fit the memory map:\n${f.errors.map((e) => `  ${e}`).join('\n')}`;
    case 'check-failed':
      return `check found ${f.errors} error${f.errors === 1 ? '' : 's'} and ${f.warnings} warning${f.warnings === 1 ? '' : 's'}: this image would not boot\n${f.findings.map((e) => `  ${e}`).join('\n')}`;
    case 'bad-artifact':
      return `${f.path}: ${f.message}`;
    case 'cancelled':
      return 'cancelled';
  }
}
