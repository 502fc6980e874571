import { existsSync, readdirSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { z } from 'zod';
import type { LayerDir } from '../config.js';
import type { Diagnostic } from './diagnostics.js';
import { validate } from './validate.js';
import { YamlFile } from './yaml-file.js';

/** A validated recipe or board file, with its source kept for diagnostics. */
export interface Loaded<T> {
  value: T;
  file: YamlFile;
  /** The project root its relative paths resolve against. */
  root: string;
}

/** `<dir>/<name>.yaml` (or .yml) in the first layer that has it. */
export function findInLayers(dirs: readonly LayerDir[], name: string): { path: string; root: string } | undefined {
  for (const layer of dirs) {
    for (const ext of ['.yaml', '.yml']) {
      const path = join(layer.dir, name + ext);
      if (existsSync(path)) return { path, root: layer.root };
    }
  }
  return undefined;
}

/** Every name available across the layers, for listings and "did you mean". */
export function namesInLayers(dirs: readonly LayerDir[]): string[] {
  const names = new Set<string>();
  for (const layer of dirs) {
    if (!existsSync(layer.dir)) continue;
    for (const entry of readdirSync(layer.dir)) {
      const ext = extname(entry);
      if (ext === '.yaml' || ext === '.yml') names.add(basename(entry, ext));
    }
  }
  return [...names].sort();
}

/**
 * Reads, parses and validates one file. `kindKey` is the key naming the file
 * ("recipe", "board"), which must equal the file's name.
 */
export function loadFile<T extends Record<string, unknown>>(
  schema: z.ZodType<T>,
  path: string,
  root: string,
  kindKey: string,
  texts: Map<string, string>,
  diagnostics: Diagnostic[],
): Loaded<T> | undefined {
  const { file, diagnostics: syntax } = YamlFile.read(path);
  texts.set(path, file.text);
  if (syntax.length) {
    diagnostics.push(...syntax);
    return undefined;
  }
  let data: unknown;
  try {
    data = file.toJS();
  } catch (err) {
    if (!(err instanceof ReferenceError) || !/alias/i.test(err.message)) throw err;
    diagnostics.push({
      severity: 'error',
      file: path,
      span: file.spanAt([]),
      message: `the file's aliases expand more than 100 times (${err.message}): a YAML alias bomb, or aliases where values should be written out`,
      hint: 'write the values out, or use a few plain aliases',
    });
    return undefined;
  }
  if (data === null || data === undefined) {
    diagnostics.push({
      severity: 'error',
      file: path,
      message: `the file is empty; a ${kindKey} file starts with "${kindKey}: ${basename(path, extname(path))}"`,
    });
    return undefined;
  }
  const { value, diagnostics: problems } = validate(schema, file, data);
  diagnostics.push(...problems);
  if (!value) return undefined;
  const expected = basename(path, extname(path));
  if (value[kindKey] !== expected) {
    diagnostics.push({
      severity: 'error',
      file: path,
      span: file.spanAt([kindKey]),
      message: `${kindKey} name "${String(value[kindKey])}" does not match the file name "${expected}"`,
      hint: `rename the file or write "${kindKey}: ${expected}"`,
    });
    return undefined;
  }
  return { value, file, root };
}
