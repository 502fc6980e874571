/** Names of boards, recipes, components, tasks and profiles: never a path. (No zod here: the CLI checks a name before it loads the validator.) */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;

/** Why `board` cannot name a board file (a path, an odd name), or undefined. */
export function boardNameProblem(board: string): { message: string; hint: string } | undefined {
  if (NAME_PATTERN.test(board) && !board.includes('..')) return undefined;
  return {
    message: `"${board}" is not a board name`,
    hint: 'a board is named by its file configs/boards/<name>.yaml: lower-case letters, digits, ".", "_" or "-", never a path',
  };
}
