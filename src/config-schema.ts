import { z } from 'zod';
import { ConfigError } from './config.js';

/** The options of xenbuild.config.* or package.json#xenbuild. */
const projectConfigSchema = z.strictObject({
  workdir: z.string().optional().describe('Where builds go (default ./build)'),
  cacheDir: z.string().optional().describe('Shared download and git cache (default ~/.cache/xenbuild)'),
  mirror: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .describe('Directories searched for sources before the network'),
  jobs: z.number().int().min(1).optional().describe('Parallel jobs (default: cores)'),
  board: z.string().optional().describe('Board used when --board is not given'),
  profile: z.string().optional(),
  recipeDirs: z.array(z.string()).optional().describe('More recipe directories, searched before the built-in ones'),
  boardDirs: z.array(z.string()).optional().describe('More board directories, searched before the built-in ones'),
  taskCache: z
    .union([z.string().min(1), z.literal(false)])
    .optional()
    .describe('The shared task cache: a directory instead of <cacheDir>/tasks, an http(s) URL used besides it, or false for none'),
  debianSnapshot: z
    .string()
    .min(1)
    .optional()
    .describe("Debian's snapshot archive (its base URL, or a directory in its layout): where locked Debian versions that left the archive are fetched"),
});

/** Checks a configuration file's content; throws ConfigError listing every problem. */
export function validateProjectConfig(raw: unknown, filepath: string): void {
  const parsed = projectConfigSchema.safeParse(raw);
  if (parsed.success) return;
  const problems = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(top level)'}: ${i.message}`).join('\n');
  throw new ConfigError(`${filepath}: invalid xenbuild configuration:\n${problems}`);
}
