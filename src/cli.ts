import { Command, InvalidArgumentError, Option } from 'commander';
import { xenbuildVersion } from './util/install.js';
import type { GlobalOptions } from './commands/context.js';

/**
 * The xenbuild command line. Each command's module is imported only when that
 * command runs, so `--help` and no-op runs start fast.
 */
const version = xenbuildVersion();

const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
};
const collect = (value: string, previous: string[] = []) => [...previous, value];

const program = new Command('xenbuild')
  .description('Bring up Xen on ARM boards: fetch, patch, build and package a board with one reproducible command.')
  .version(version)
  .showHelpAfterError('(run xenbuild --help for usage)')
  .option('-b, --board <name>', 'the board (configs/boards/<name>.yaml)')
  .option('-p, --profile <name>', "one of the board's profiles (default: its default-profile)")
  .option('--workdir <dir>', 'where builds go (default: ./build)')
  .option('--cache-dir <dir>', 'shared download and git cache (default: ~/.cache/xenbuild)')
  .option('--mirror <dir>', 'look for sources here before the network (repeatable)', collect)
  .option('--task-cache <dir|url>', 'shared task cache: a directory or an http(s) URL, repeatable (default: <cache-dir>/tasks)', collect)
  .option('--no-task-cache', 'neither restore nor store task outputs')
  .option('--frozen', 'fail when a source is not in xenbuild.lock.json or disagrees with it (CI)')
  .option('-j, --jobs <n>', 'parallel jobs for the whole run (default: cores)', positiveInt)
  .addOption(new Option('--reporter <name>', 'output style (default: tty on a terminal, plain otherwise)').choices(['tty', 'plain', 'json']))
  .option('-n, --dry-run', 'print every command that would run, resolved, and run nothing')
  .option('-k, --keep-going', 'after a failure, keep building what does not depend on it')
  .option('--wait', 'if another xenbuild holds the build directory, wait for it');

// `xenbuild status | head`: a reader that goes away is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

type Loader = () => Promise<number>;
const run = (load: Loader) => {
  load().then(
    (code) => {
      process.exitCode = code;
    },
    async (err: unknown) => {
      const [{ CommandError }, { EXIT }] = await Promise.all([import('./commands/context.js'), import('./commands/exit.js')]);
      if (err instanceof CommandError) {
        process.stderr.write(err.rendered ? `${err.message}\n` : `xenbuild: error: ${err.message}\n`);
        process.exitCode = err.exitCode;
      } else {
        process.stderr.write(`xenbuild: internal error: ${(err as Error).stack ?? String(err)}\n`);
        process.exitCode = EXIT.internal;
      }
    },
  );
};
const globals = (cmd: Command) => cmd.optsWithGlobals<GlobalOptions & Record<string, unknown>>();

program
  .command('all')
  .description('build everything the board needs')
  .option('--no-check', 'skip the pre-flight check before the image is made (loudly)')
  .addHelpText(
    'after',
    '\nExamples:\n  xenbuild all --board qemu-arm32\n  xenbuild all --board dra7-evm --jobs 4 --keep-going\n  xenbuild all --board dra7-evm --dry-run',
  )
  .action((_opts, cmd: Command) => run(async () => (await import('./commands/run.js')).runCommand(undefined, globals(cmd), 'xenbuild all')));

program
  .command('check')
  .description(
    "pre-flight: the memory map, device tree and kernel config against what Xen needs (the seed's failure modes); or, with --log, a board's serial console read against the same rules",
  )
  .option(
    '--log <file>',
    'read this serial console log (- for standard input): milestones reached, where it stops, each failure as the rule that catches it and its fix',
  )
  .addHelpText(
    'after',
    '\nExamples:\n  xenbuild check --board dra7-evm\n  xenbuild check --log minicom.cap\n  picocom -b 115200 /dev/ttyUSB0 | tee console.txt; xenbuild check --log console.txt --board dra7-evm',
  )
  .action((opts: { log?: string }, cmd: Command) =>
    run(async () => {
      const check = await import('./commands/check.js');
      return opts.log === undefined ? check.checkCommand(globals(cmd)) : check.checkLogCommand(opts.log, globals(cmd));
    }),
  );

program
  .command('boot')
  .description("boot the board's image under its emulator and follow it to dom0")
  .option('--image <file>', "boot this image as it is instead of the board's (a release, a copy)")
  .option('--timeout <seconds>', "give up after this long (default: the board's qemu.timeout)", positiveInt)
  .option('--smp <n>', 'CPUs', positiveInt)
  .option('--memory <MiB>', "the emulated RAM (default: the board's qemu.memory or memory.ram)", positiveInt)
  .option('--interactive', 'attach the console to this terminal')
  .addHelpText(
    'after',
    '\nExamples:\n  xenbuild boot --board qemu-arm32\n  xenbuild boot --board qemu-arm32 --smp 2 --timeout 60\n  xenbuild boot --board qemu-arm32 --memory 2048\n  xenbuild boot --board qemu-arm32 --interactive',
  )
  .action((_opts, cmd: Command) => run(async () => (await import('./commands/boot.js')).bootCommand(globals(cmd))));

program
  .command('flash')
  .description("write the board's image to an SD card with bmaptool, after safety checks, and verify it")
  .requiredOption('--device <path>', 'the card: /dev/sdX or /dev/mmcblkN (or a file, with --allow-file)')
  .option('-y, --yes', 'do not ask for confirmation')
  .option('--allow-file', 'write into a regular file instead of a block device')
  .option('--image <file>', "a release's image (.img, .img.zst, .img.xz) instead of the board's; checked against the SHA256SUMS next to it")
  .option('--bmap <file>', 'the bmap of --image, when it is not next to it as <name>.img.bmap')
  .addHelpText(
    'after',
    '\nExamples:\n  xenbuild devices\n  xenbuild flash --board dra7-evm --device /dev/sdb\n  xenbuild flash --board qemu-arm32 --device card.img --allow-file --yes\n  xenbuild flash --image ~/Downloads/dra7-evm.img.zst --device /dev/sdb',
  )
  .action((_opts, cmd: Command) => run(async () => (await import('./commands/flash-board.js')).flashBoardCommand(globals(cmd))));

program
  .command('devices')
  .description('list removable disks: size, model, whether they are mounted')
  .option('--json', 'machine-readable output')
  .addHelpText('after', '\nExample:\n  xenbuild devices')
  .action((opts: { json?: boolean }) => run(async () => (await import('./commands/devices.js')).devicesCommand(opts.json ? { json: true } : {})));

program
  .command('run')
  .description('bring the named tasks (and what they need) up to date')
  .argument('<task...>', 'task ids such as xen:build, or a component name for all its tasks')
  .option('-f, --force', 'rerun the named tasks even if they are fresh')
  .option('--only', 'run only the named tasks, not their dependencies')
  .option('--from <task>', 'rerun this task and everything after it')
  .option('--no-check', 'skip the pre-flight check (loudly)')
  .addHelpText(
    'after',
    '\nExamples:\n  xenbuild run xen:build --board dra7-evm\n  xenbuild run xen:build --force --board dra7-evm\n  xenbuild run linux:build --only --board dra7-evm\n  xenbuild run u-boot:deploy --from u-boot:patch --board dra7-evm',
  )
  .action((tasks: string[], _opts, cmd: Command) =>
    run(async () => (await import('./commands/run.js')).runCommand(tasks, globals(cmd), `xenbuild run ${tasks.join(' ')}`)),
  );

program
  .command('mirror')
  .description('put every source the board needs into a mirror directory, for builds without a network (--mirror DIR)')
  .argument('<dir>', 'the mirror directory (made if missing; other boards may share it)')
  .addHelpText(
    'after',
    '\nExamples:\n  xenbuild mirror --board dra7-evm --profile debian12 /srv/xenbuild-mirror\n  xenbuild all --board dra7-evm --profile debian12 --mirror /srv/xenbuild-mirror',
  )
  .action((dir: string, _opts, cmd: Command) => run(async () => (await import('./commands/mirror.js')).mirrorCommand(dir, globals(cmd))));

program
  .command('list')
  .description('list the tasks of a board in the order they run')
  .addHelpText('after', '\nExample:\n  xenbuild list --board qemu-arm32')
  .action((_opts, cmd: Command) => run(async () => (await import('./commands/inspect.js')).listCommand(globals(cmd))));

program
  .command('status')
  .description('say which tasks are fresh and why the others are stale')
  .option('--json', 'machine-readable output')
  .addHelpText('after', '\nExample:\n  xenbuild status --board dra7-evm')
  .action((_opts, cmd: Command) => run(async () => (await import('./commands/inspect.js')).statusCommand(globals(cmd))));

program
  .command('graph')
  .description('print the task graph')
  .addOption(new Option('--format <format>', 'dot or mermaid').choices(['dot', 'mermaid']).default('dot'))
  .addHelpText('after', '\nExamples:\n  xenbuild graph --board dra7-evm | dot -Tsvg > graph.svg\n  xenbuild graph --board dra7-evm --format mermaid')
  .action((_opts, cmd: Command) => run(async () => (await import('./commands/inspect.js')).graphCommand(globals(cmd))));

program
  .command('clean')
  .description("remove a board's build directory, or the named tasks' results")
  .argument('[task...]', 'tasks to clean (a fetch task also removes its source tree)')
  .addHelpText('after', '\nExamples:\n  xenbuild clean --board dra7-evm\n  xenbuild clean xen:build --board dra7-evm')
  .action((tasks: string[], _opts, cmd: Command) => run(async () => (await import('./commands/maintain.js')).cleanCommand(tasks, globals(cmd))));

program
  .command('doctor')
  .description('check the host tools the board needs, with the Debian package for each')
  .addHelpText('after', '\nExamples:\n  xenbuild doctor --board qemu-arm32\n  xenbuild doctor')
  .action((_opts, cmd: Command) => run(async () => (await import('./commands/maintain.js')).doctorCommand(globals(cmd))));

program
  .command('lock')
  .description('record what every source of the board resolves to in xenbuild.lock.json (Debian files by sha256)')
  .argument('[component...]', 'with --update: the components whose entries move (default: all of the board)')
  .option('--update', 'move entries that no longer agree with their recipes, on purpose')
  .addHelpText(
    'after',
    '\nExamples:\n  xenbuild lock --board qemu-arm32\n  xenbuild lock --board dra7-evm --profile debian12\n  xenbuild lock --update xen --board qemu-arm32',
  )
  .action((components: string[], _opts, cmd: Command) => run(async () => (await import('./commands/lock.js')).lockCommand(components, globals(cmd))));

const cache = program.command('cache').description('the shared task cache: what it holds, and keeping it small');
cache
  .command('stats')
  .description("the task cache's entries and their size")
  .option('--json', 'machine-readable output')
  .addHelpText('after', '\nExample:\n  xenbuild cache stats')
  .action((_opts, cmd: Command) => run(async () => (await import('./commands/cache.js')).cacheStatsCommand(globals(cmd))));
cache
  .command('prune')
  .description('remove the least recently used entries of the task cache directory down to a size')
  .requiredOption('--max-size <size>', 'what the directory may hold at most (e.g. 10G, 512M)')
  .addHelpText('after', '\nExample:\n  xenbuild cache prune --max-size 10G')
  .action((_opts, cmd: Command) =>
    run(async () => (await import('./commands/cache.js')).cachePruneCommand({ ...globals(cmd), maxSize: String(globals(cmd).maxSize) })),
  );

program.parse();
