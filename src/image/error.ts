/**
 * An image cannot be built or released for a reason the user can fix (a
 * missing input file, an image that does not fit its partition, a tool that
 * misbehaved). The message says what and what to do; `problems` lists each
 * reason when there are several.
 *
 * Integration note: TaskFailure (src/engine/failure.ts) has no reason for
 * "bad input"; the runner should report an ImageError's message as the task's
 * failure (or a new Failure reason should carry it).
 */
export class ImageError extends Error {
  constructor(
    message: string,
    readonly problems: string[] = [message],
  ) {
    super(message);
    this.name = 'ImageError';
  }
}
