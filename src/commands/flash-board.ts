import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { analysedBoard, CommandError, withInterrupts, type GlobalOptions } from './context.js';

export interface FlashBoardOptions extends GlobalOptions {
  device?: string;
  yes?: boolean;
  allowFile?: boolean;
}

/** `xenbuild flash`: the board's released image onto a card, through the safety checks of flash.ts. */
export async function flashBoardCommand(opts: FlashBoardOptions): Promise<number> {
  if (!opts.device) throw new CommandError('flash needs --device /dev/sdX (list removable disks with xenbuild devices)');
  const { graph } = await analysedBoard(opts);
  const image = join(graph.boardDir, 'deploy', `${graph.board}.img`);
  const bmap = `${image}.bmap`;
  if (!existsSync(image) || !existsSync(bmap)) {
    throw new CommandError(`${relative(process.cwd(), image)} and its bmap are not built: run xenbuild all --board ${graph.board} first`, 1);
  }
  const { flashCommand } = await import('./flash.js');
  return withInterrupts((signal) => flashCommand({ image, bmap, device: opts.device!, yes: opts.yes ?? false, allowFile: opts.allowFile ?? false, signal }));
}
