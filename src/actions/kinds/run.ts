import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ActionKind } from '../../engine/action.js';
import { sourceDateEpoch } from '../../host/git-refs.js';
import { Jobserver } from '../../host/jobserver.js';
import { BUILD_EPOCH } from '../../util/epoch.js';
import { JOBS_PLACEHOLDER, type SpecOf } from '../../model/graph.js';
import { shellQuote } from '../../util/shell.js';

declare module '../../model/graph.js' {
  interface ActionSpecs {
    /** jobs: 'one' job, a 'shared' number of jobs as ${jobs}, or 'make' (the run's jobserver). */
    run: { argv: string[]; jobs: 'one' | 'shared' | 'make' };
  }
}

/** A program (argv, never a shell) in the task's directory; `make` as a client of the run's jobserver. */
export const runKind: ActionKind<SpecOf<'run'>> = {
  async run(spec, task, ctx, grant) {
    // The working directory and the directories of declared outputs exist before the command runs.
    for (const dir of new Set([task.cwd, ...task.outputs.map((o) => dirname(o.path))])) await mkdir(dir, { recursive: true });
    const jobs = String(grant.jobs);
    const argv = spec.argv.map((a) => a.replaceAll(JOBS_PLACEHOLDER, jobs));
    const env: Record<string, string> = {};
    // The sources' date, for tools that would write "now" (reproducible-builds.org); a recipe may set its own.
    if (task.readsTree) env.SOURCE_DATE_EPOCH = String(await sourceDateEpoch(task.srcDir, BUILD_EPOCH));
    for (const [k, v] of Object.entries(task.env)) env[k] = v.replaceAll(JOBS_PLACEHOLDER, jobs);
    if (spec.jobs === 'make' && grant.jobserverFd !== undefined) {
      env.MAKEFLAGS = `${env.MAKEFLAGS ?? ''}${Jobserver.makeflags()}`;
      await ctx.exec(argv, { cwd: task.cwd, env, extraFds: [grant.jobserverFd] });
    } else {
      await ctx.exec(argv, { cwd: task.cwd, env });
    }
    return {};
  },
  describe(spec, task, _where, jobs) {
    const env = Object.entries(task.env)
      .map(([k, v]) => `${k}=${shellQuote(v.replaceAll(JOBS_PLACEHOLDER, String(jobs)))} `)
      .join('');
    const makeflags = spec.jobs === 'make' ? `MAKEFLAGS=${shellQuote(Jobserver.makeflags())} ` : '';
    return [`(cd ${shellQuote(task.cwd)} && ${makeflags}${env}${spec.argv.map((a) => shellQuote(a.replaceAll(JOBS_PLACEHOLDER, String(jobs)))).join(' ')})`];
  },
  jobs: (spec) => spec.jobs,
  cacheable: true,
};
