import { z } from 'zod';

/**
 * The recipe and board formats. This file is the single source of truth: the
 * validator uses these schemas and `npm run build` emits the JSON Schemas in
 * schema/ from them, so editors complete and check the same rules.
 *
 * Convention for unions of objects: the first key of each option is the key
 * that tells the options apart (`git:` vs `tarball:`, `run:` vs `make:`); the
 * diagnostics use it to report the errors of the option the user meant.
 */

const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be lower-case letters, digits, ".", "_" or "-", starting with a letter or digit');

export const scalar = z.union([z.string(), z.number(), z.boolean()]);
export const variables = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'is not a valid variable name'), scalar);

export const gitSource = z.strictObject({
  git: z.string().min(1).describe('Repository URL (git://, https://, file:// or a path)'),
  ref: z.string().min(1).optional().describe('Tag or branch that must still resolve to `commit`'),
  commit: z
    .string()
    .regex(/^[0-9a-f]{40}$/, 'must be a full 40-digit lower-case hex commit id')
    .describe('The pinned commit'),
});

export const tarballSource = z.strictObject({
  tarball: z.string().min(1).describe('URL or path of a .tar, .tar.gz, .tar.xz or .tar.zst archive'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits').describe('sha256 of the archive'),
  strip: z.number().int().min(0).optional().describe('Leading path components to strip (default 1)'),
});

/** Where a component's source comes from. New kinds are added here. */
export const source = z.union([gitSource, tarballSource]);

const patches = z
  .array(z.string().min(1))
  .describe('Patch files or directories (every *.patch / *.diff inside, by name), relative to the project root');

export const versionEntry = z.strictObject({
  source,
  patches: patches.optional(),
  variables: variables.optional(),
});

const taskCommon = {
  description: z.string().optional(),
  after: z.array(z.string().min(1)).optional().describe('Tasks that must finish first: "configure" (same recipe) or "toolchain:fetch"'),
  cwd: z.string().optional().describe('Working directory, relative to the source tree'),
  env: z.record(z.string(), scalar).optional().describe('Environment variables laid over a clean environment'),
  inputs: z.array(z.string().min(1)).optional().describe('Project files the task reads (config fragments, scripts), hashed for freshness'),
  outputs: z.array(z.string().min(1)).optional().describe('Files the task produces, relative to the source tree'),
};

export const runTask = z.strictObject({
  run: z.array(scalar).min(1).describe('argv: program and arguments; never run through a shell'),
  ...taskCommon,
  jobs: z.enum(['one', 'shared']).optional().describe('"shared": the task takes a share of --jobs, as ${jobs}'),
});

export const makeTask = z.strictObject({
  make: z.array(scalar).describe('Arguments to make; xenbuild adds -j with the task\'s share of --jobs'),
  ...taskCommon,
});

/** One task of a recipe. New action kinds are added here. */
export const task = z.union([runTask, makeTask]);

export const recipe = z.strictObject({
  recipe: name.describe('The recipe name; must equal the file name'),
  description: z.string().optional(),
  tools: z.record(z.string(), z.string()).optional().describe('Host programs the recipe runs, each with the Debian package that provides it'),
  variables: variables.optional().describe('Defaults for ${name}; boards may override them'),
  source: source.optional(),
  patches: patches.optional(),
  versions: z.record(z.string().min(1), versionEntry).optional(),
  'default-version': z.string().optional(),
  tasks: z.record(name, task).optional(),
  exports: z
    .record(z.string().min(1), z.string().min(1))
    .optional()
    .describe('Artifacts copied into deploy/: name → a declared output of one of the tasks'),
});

export const componentRef = z.union([
  z.string().regex(/^[a-z0-9][a-z0-9._-]*(@[^@\s]+)?$/, 'must be "recipe" or "recipe@version", the recipe name in lower-case letters, digits, ".", "_" or "-"'),
  z.strictObject({
    recipe: name,
    version: z.string().optional(),
    variables: variables.optional(),
  }),
]);

const components = z.record(name, componentRef).describe('Component name → recipe (and version) the board uses');

export const profile = z.strictObject({
  description: z.string().optional(),
  components: components.optional(),
  variables: variables.optional(),
});

export const board = z.strictObject({
  board: name.describe('The board name; must equal the file name'),
  description: z.string().optional(),
  components,
  variables: variables.optional().describe('Board variables, ${board.name} in recipes'),
  profiles: z.record(name, profile).optional(),
  'default-profile': z.string().optional(),
});

export type Recipe = z.infer<typeof recipe>;
export type Board = z.infer<typeof board>;
export type Task = z.infer<typeof task>;
export type Source = z.infer<typeof source>;
export type GitSourceSpec = z.infer<typeof gitSource>;
export type TarballSourceSpec = z.infer<typeof tarballSource>;
export type Scalar = z.infer<typeof scalar>;
export type ComponentRef = z.infer<typeof componentRef>;
