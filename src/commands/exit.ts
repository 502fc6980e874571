/**
 * Exit statuses, the same for every command: 0 done, 1 failed (a task, a
 * check, a write), 2 refused before doing anything (bad input, a flash target
 * that is not safe), 70 an internal error (a bug: report it), 130 interrupted.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, refused: 2, internal: 70, interrupted: 130 } as const;
