import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, normalize, relative, resolve as resolvePath } from 'node:path';
import type { FileRef } from '../model/graph.js';
import { staysInside } from '../util/inside.js';
import type { Component, TaskContext } from './context.js';
import type { PathKey } from './yaml-file.js';

/** The project files a component's tasks read: its patch series and declared inputs (files or whole directories). */

const PATCH_FILE = /\.(patch|diff)$/;

export function resolvePatches(c: Component, ctx: TaskContext): FileRef[] {
  const refs: FileRef[] = [];
  c.patchEntries.entries.forEach((entry, i) => {
    const at = [...c.patchEntries.path, i];
    const abs = resolvePath(c.recipe.root, entry);
    if (existsSync(abs) && !staysInside(abs, c.recipe.root)) {
      ctx.error(c.recipe.file, at, `patch "${entry}" lies outside the project`, 'patches are project files: copy it into patches/');
      return;
    }
    if (!existsSync(abs)) {
      ctx.error(
        c.recipe.file,
        at,
        `patch "${entry}" does not exist`,
        `patch paths are relative to the project root (where xenbuild.config.* is, else the current directory)`,
      );
      return;
    }
    if (statSync(abs).isDirectory()) {
      const found = readdirSync(abs)
        .filter((f) => PATCH_FILE.test(f))
        .sort();
      if (!found.length) ctx.error(c.recipe.file, at, `patch directory "${entry}" holds no *.patch or *.diff files`);
      for (const f of found) refs.push(fileRef(join(abs, f), c.recipe.root));
      ctx.files.push(abs);
    } else {
      refs.push(fileRef(abs, c.recipe.root));
      ctx.files.push(abs);
    }
  });
  return refs;
}

export function resolveInputs(entries: string[], path: PathKey[], c: Component, ctx: TaskContext, index?: number): FileRef[] {
  const refs: FileRef[] = [];
  entries.forEach((entry, i) => {
    const abs = resolvePath(c.recipe.root, entry);
    if (existsSync(abs) && !staysInside(abs, c.recipe.root)) {
      ctx.error(
        c.recipe.file,
        [...path, index ?? i],
        `input "${entry}" lies outside the project`,
        'inputs are project files: copy it into the project, or make a recipe that fetches it',
      );
      return;
    }
    if (!existsSync(abs)) {
      ctx.error(
        c.recipe.file,
        [...path, index ?? i],
        `input "${entry}" does not exist`,
        `inputs are project files, relative to the project root (where xenbuild.config.* is, else the current directory)`,
      );
      return;
    }
    // A directory is one input: its tree digest covers every file, mode and link in it (src/host/hasher.ts).
    refs.push(fileRef(abs, c.recipe.root));
    ctx.files.push(abs);
  });
  return refs;
}

function fileRef(abs: string, root: string): FileRef {
  return { path: normalize(abs), name: relative(root, abs) };
}
