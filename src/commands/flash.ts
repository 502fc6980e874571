/**
 * `xenbuild flash --board B --device /dev/sdX [--yes] [--allow-file]`.
 *
 * Wiring (cli.ts): the board's deploy directory gives `image`
 * (`<deploy>/<name>.img`, the bmap `<deploy>/<name>.img.bmap` is found from it);
 * the other options are the command line's. Returns the exit status:
 * 0 written and verified; 1 the write failed or did not verify; 2 refused
 * (unsafe target, not confirmed, bad or mismatched bmap: nothing was written);
 * 130 interrupted. This file loads nothing heavy; the flash code is imported on use.
 */
import { EXIT } from './exit.js';
import { existsSync } from 'node:fs';
import type { FlashOptions } from '../flash/flash.js';

export interface FlashCommandOptions extends Omit<FlashOptions, 'bmap' | 'print'> {
  /** Default: `<name>.img.bmap` next to the image. */
  bmap?: string;
  /** Where messages go (default: stderr); each call is one line. */
  print?: (line: string) => void;
}

/** The bmap next to an image, as `xenbuild release` names it (and as bmaptool looks for it). */
function bmapFor(image: string): string {
  const stem = image.replace(/\.img(\.(zst|xz|gz|bz2))?$/, '');
  const candidates = [`${stem}.img.bmap`, `${image}.bmap`, `${stem}.bmap`];
  return candidates.find((c) => existsSync(c)) ?? candidates[0]!;
}

export async function flashCommand(opts: FlashCommandOptions): Promise<number> {
  const print = opts.print ?? ((line: string) => process.stderr.write(line + '\n'));
  const [{ flash, FlashVerifyError }, { FlashRefusal }, { TaskFailure }] = await Promise.all([
    import('../flash/flash.js'),
    import('../flash/target.js'),
    import('../host/failure.js'),
  ]);
  try {
    await flash({ ...opts, bmap: opts.bmap ?? bmapFor(opts.image), print });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof FlashRefusal) {
      print(`xenbuild: refusing to flash: ${err.message}`);
      return EXIT.refused;
    }
    if (err instanceof FlashVerifyError) {
      print(`xenbuild: ${err.message}`);
      return EXIT.failed;
    }
    if (err instanceof TaskFailure) {
      if (err.failure.reason === 'cancelled') {
        print(`xenbuild: interrupted: ${opts.device} holds a partial image; flash it again before using it`);
        return EXIT.interrupted;
      }
      print(`xenbuild: writing ${opts.device} failed: ${err.message}`);
      return EXIT.failed;
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') {
      print(`xenbuild: cannot open ${opts.device}: permission denied; run as root (sudo) or join the "disk" group`);
      return EXIT.failed;
    }
    throw err;
  }
}
