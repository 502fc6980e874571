import type { z } from 'zod';
import type { Diagnostic } from './diagnostics.js';
import { didYouMean } from './suggest.js';
import type { PathKey, YamlFile } from './yaml-file.js';

type Issue = z.core.$ZodIssue;
type AnySchema = z.core.$ZodType;

/**
 * Validates a parsed YAML file against a schema and turns every problem into a
 * diagnostic that points at the offending key or value, with a suggestion for
 * misspelt keys. Returns the typed value when there are no errors.
 */
export function validate<T>(schema: z.ZodType<T>, file: YamlFile, data: unknown): { value?: T; diagnostics: Diagnostic[] } {
  const result = schema.safeParse(data);
  if (result.success) return { value: result.data, diagnostics: [] };
  const diagnostics: Diagnostic[] = [];
  for (const issue of result.error.issues) collect(schema, issue, [], data, file, diagnostics);
  return { diagnostics: dropImpliedMissing(dedupe(diagnostics)) };
}

/** `componets:` already says "did you mean components"; "missing required key components" adds nothing. */
function dropImpliedMissing(ds: Diagnostic[]): Diagnostic[] {
  const suggested = new Set(ds.map((d) => /did you mean "([^"]+)"/.exec(d.message)?.[1]).filter((k): k is string => k !== undefined && k !== null));
  return ds.filter((d) => {
    const missing = /^missing required key "([^"]+)"/.exec(d.message)?.[1];
    return missing === undefined || !suggested.has(missing);
  });
}

function collect(root: AnySchema, issue: Issue, prefix: PathKey[], data: unknown, file: YamlFile, out: Diagnostic[]): void {
  const path = [...prefix, ...(issue.path as PathKey[])];
  const where = describePath(path);
  const error = (span: [number, number], message: string, hint?: string) =>
    out.push(hint ? { severity: 'error', file: file.path, span, message, hint } : { severity: 'error', file: file.path, span, message });
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = objectKeys(schemaAt(root, path, data));
      for (const key of issue.keys) {
        const suggestion = didYouMean(key, known);
        const hint = suggestion || !known.length ? undefined : `keys${where ? ` of ${where}` : ''}: ${known.join(', ')}`;
        error(file.spanAt([...path, key], 'key'), `unknown key "${key}"${where ? ` in ${where}` : ''}${suggestion}`, hint);
      }
      return;
    }
    case 'invalid_union': {
      const value = valueAt(data, path);
      const options = unionOptions(schemaAt(root, path, data, false));
      const chosen = chooseOption(options, value);
      if (chosen !== undefined && issue.errors[chosen]) {
        for (const sub of issue.errors[chosen]) collect(root, sub, path, data, file, out);
        return;
      }
      const keys = options.map((o) => objectKeys(o)[0]).filter((k): k is string => k !== undefined);
      if (isPlainObject(value) && keys.length === options.length) {
        error(file.spanAt(path, 'key'), `${where || 'this'} needs one of the keys ${keys.map((k) => `"${k}"`).join(', ')}`);
      } else {
        error(file.spanAt(path), `${where || 'this value'} must be ${oneOf(options.map(describeSchema))}, not ${describeValue(value)}`);
      }
      return;
    }
    case 'invalid_type': {
      const value = valueAt(data, path);
      if (value === undefined) {
        const key = path[path.length - 1];
        const parent = describePath(path.slice(0, -1));
        error(file.spanAt(path.slice(0, -1), 'key'), `missing required key "${String(key)}"${parent ? ` in ${parent}` : ''}`);
      } else {
        const key = path[path.length - 1];
        const hint =
          issue.expected === 'array' && typeof value === 'string'
            ? key === 'run' || key === 'make'
              ? `${key} is an argv, never run through a shell: write ${key}: [${value.trim().split(/\s+/).join(', ')}]`
              : `write a list: ${String(key)}: [${value}]`
            : undefined;
        error(file.spanAt(path), `${where || 'the document'} must be ${article(issue.expected)}, not ${describeValue(value)}`, hint);
      }
      return;
    }
    case 'too_small':
      if (issue.origin === 'array') error(file.spanAt(path), `${where} must not be empty`);
      else if (issue.origin === 'string') error(file.spanAt(path), `${where} must not be empty`);
      else error(file.spanAt(path), `${where} must be at least ${String(issue.minimum)}`);
      return;
    case 'invalid_value':
      error(file.spanAt(path), `${where} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, not ${describeValue(valueAt(data, path))}`);
      return;
    case 'invalid_key': {
      const key = path[path.length - 1];
      for (const sub of issue.issues) {
        error(
          file.spanAt(path, 'key'),
          `key "${String(key)}"${describePath(path.slice(0, -1)) ? ` in ${describePath(path.slice(0, -1))}` : ''} ${sub.message}`,
        );
      }
      return;
    }
    case 'invalid_format':
    case 'custom':
    case 'too_big':
    case 'not_multiple_of':
    case 'invalid_element':
      error(file.spanAt(path), `${where} ${issue.message}`);
      return;
  }
}

/** `tasks.build.run[0]` */
function describePath(path: readonly PathKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out ? `.${key}` : key;
  return out;
}

function valueAt(data: unknown, path: readonly PathKey[]): unknown {
  let node = data;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key as string];
  }
  return node;
}

function def(schema: AnySchema | undefined): { type: string } & Record<string, unknown> {
  return (schema?._zod.def ?? { type: 'unknown' }) as { type: string } & Record<string, unknown>;
}

function unwrap(schema: AnySchema | undefined): AnySchema | undefined {
  let s = schema;
  for (;;) {
    const d = def(s);
    if (d.type === 'optional' || d.type === 'default' || d.type === 'nullable' || d.type === 'readonly') s = d.innerType as AnySchema;
    else return s;
  }
}

function unionOptions(schema: AnySchema | undefined): AnySchema[] {
  const d = def(unwrap(schema));
  return d.type === 'union' ? (d.options as AnySchema[]) : [];
}

function objectKeys(schema: AnySchema | undefined): string[] {
  const d = def(unwrap(schema));
  return d.type === 'object' ? Object.keys(d.shape as object) : [];
}

/** The option of a union the user meant: the one whose first key is present. */
function chooseOption(options: AnySchema[], value: unknown): number | undefined {
  if (!isPlainObject(value)) {
    if (value === undefined || value === null || Array.isArray(value)) return undefined;
    const index = options.findIndex((o) => def(unwrap(o)).type === typeof value);
    return index === -1 ? undefined : index;
  }
  const index = options.findIndex((o) => {
    const first = objectKeys(o)[0];
    return first !== undefined && first in value;
  });
  return index === -1 ? undefined : index;
}

/** The schema that describes the value at a path, following the data through unions. */
function schemaAt(root: AnySchema, path: readonly PathKey[], data: unknown, resolveUnion = true): AnySchema | undefined {
  let schema: AnySchema | undefined = root;
  let value = data;
  for (const key of path) {
    schema = unwrap(schema);
    let d = def(schema);
    if (d.type === 'union') {
      const options = d.options as AnySchema[];
      schema = unwrap(options[chooseOption(options, value) ?? 0]);
      d = def(schema);
    }
    if (d.type === 'object') schema = (d.shape as Record<string, AnySchema>)[String(key)];
    else if (d.type === 'record') schema = d.valueType as AnySchema;
    else if (d.type === 'array') schema = d.element as AnySchema;
    else return undefined;
    value = isPlainObject(value) || Array.isArray(value) ? (value as Record<string, unknown>)[key as string] : undefined;
  }
  schema = unwrap(schema);
  if (resolveUnion && def(schema).type === 'union') {
    const options = unionOptions(schema);
    return unwrap(options[chooseOption(options, value) ?? 0]);
  }
  return schema;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return `${article(typeof v)} (${String(v)})`;
}

function describeSchema(s: AnySchema): string {
  const d = def(unwrap(s));
  if (d.type === 'object') return `a map with "${objectKeys(s)[0] ?? '?'}"`;
  return article(d.type);
}

function oneOf(words: string[]): string {
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

function article(type: string): string {
  switch (type) {
    case 'object':
    case 'record':
      return 'a map';
    case 'array':
      return 'a list';
    case 'int':
      return 'an integer';
    default:
      return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
  }
}

function dedupe(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const key = `${d.span?.[0]}:${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
