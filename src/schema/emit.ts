import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { board, recipe } from '../model/schema.js';

/** Writes schema/recipe.schema.json and schema/board.schema.json from the validator's schemas. */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, 'schema');
mkdirSync(out, { recursive: true });
for (const [file, schema, title] of [
  ['recipe.schema.json', recipe, 'xenbuild recipe'],
  ['board.schema.json', board, 'xenbuild board'],
] as const) {
  const json = { title, ...z.toJSONSchema(schema, { io: 'input' }) };
  writeFileSync(join(out, file), JSON.stringify(json, null, 2) + '\n');
}
