import { layoutOf } from '../model/board-layout.js';
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { analysedBoard, CommandError, withInterrupts, type GlobalOptions } from './context.js';

export interface FlashBoardOptions extends GlobalOptions {
  device?: string;
  /** A release's image (`.img`, `.img.zst`, `.img.xz`) instead of the board's: no project needed. */
  image?: string;
  /** Its bmap, if not next to it as `<name>.img.bmap`. */
  bmap?: string;
  yes?: boolean;
  allowFile?: boolean;
}

/** `xenbuild flash`: the board's released image (or --image, a downloaded release) onto a card, through the safety checks of flash.ts. */
export async function flashBoardCommand(opts: FlashBoardOptions): Promise<number> {
  if (!opts.device) throw new CommandError('flash needs --device /dev/sdX (list removable disks with xenbuild devices)');
  const { flashCommand } = await import('./flash.js');
  const common = { device: opts.device, yes: opts.yes ?? false, allowFile: opts.allowFile ?? false };
  if (opts.image !== undefined) {
    if (!existsSync(opts.image)) throw new CommandError(`${opts.image} does not exist`, 1);
    const image = opts.image;
    return withInterrupts((signal) => flashCommand({ image, ...(opts.bmap ? { bmap: opts.bmap } : {}), ...common, signal }));
  }
  if (opts.bmap !== undefined) throw new CommandError("--bmap goes with --image; a board's image has its bmap next to it");
  const { graph } = await analysedBoard(opts);
  const image = layoutOf(graph).image;
  const bmap = `${image}.bmap`;
  if (!existsSync(image) || !existsSync(bmap)) {
    throw new CommandError(`${relative(process.cwd(), image)} and its bmap are not built: run xenbuild all --board ${graph.board} first`, 1);
  }
  return withInterrupts((signal) => flashCommand({ image, bmap, ...common, signal }));
}
