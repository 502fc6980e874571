/** Names of boards, recipes, components, tasks and profiles: never a path. (No zod here: the CLI checks a name before it loads the validator.) */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
