/**
 * The variables a component's task strings see (README "Variables"): the
 * paths and names xenbuild defines, other components' trees, and the
 * variables of the board, of every component and of this one, which may refer
 * to each other: they are expanded on use, a loop or an unknown name reported
 * at the variable's definition.
 */
import { layoutAt } from '../model/board-layout.js';
import type { Component, TaskContext } from './context.js';
import { interpolate, JOBS_PLACEHOLDER, type VarScope, type VarValue } from './vars.js';
import type { PathKey, YamlFile } from './yaml-file.js';

const PATH_VARIABLES = ['srcdir', 'builddir', 'deploydir', 'boarddir', 'root', 'cachedir'] as const;

export function makeScope(c: Component, ctx: TaskContext) {
  const entries: Record<string, VarValue> = {};
  const put = (name: string, value: string, symbolic?: string) => {
    entries[name] = symbolic === undefined ? { value } : { value, symbolic };
  };
  const paths: Record<(typeof PATH_VARIABLES)[number], string> = {
    srcdir: c.srcDir,
    builddir: layoutAt(ctx.boardDir).build(c.name),
    deploydir: layoutAt(ctx.boardDir).deploy,
    boarddir: ctx.boardDir,
    root: c.recipe.root,
    cachedir: ctx.settings.cacheDir,
  };
  for (const key of PATH_VARIABLES) put(key, paths[key], `\${${key}}`);
  put('jobs', JOBS_PLACEHOLDER, '${jobs}');
  put('board', ctx.boardName);
  put('component', c.name);
  put('recipe', c.recipe.value.recipe);
  if (c.version !== undefined) put('version', c.version);
  for (const [other, comp] of ctx.byName) {
    // Another component's trees, e.g. ${busybox.srcdir}; the task must run after that component's tasks.
    put(`${other}.srcdir`, comp.srcDir, `\${${other}.srcdir}`);
    put(`${other}.builddir`, layoutAt(ctx.boardDir).build(other), `\${${other}.builddir}`);
  }
  // The variables of the board and of the recipes may refer to others ("${prefix}gcc"): expanded on use, cycles refused.
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(ctx.boardVars)) raw[`board.${k}`] = String(v);
  for (const [other, comp] of ctx.byName) for (const [k, v] of Object.entries(comp.variables)) raw[`${other}.${k}`] = String(v);
  for (const [k, v] of Object.entries(c.variables)) raw[k] = String(v);
  /** Where a variable is defined, for its errors: the board entry, the recipe's version, the recipe, or the board's variables. */
  const site = (name: string): [YamlFile, PathKey[]] => {
    if (name.startsWith('board.')) return [c.ref.file, ['variables', name.slice('board.'.length)]];
    const [comp, key] = name.includes('.') ? [ctx.byName.get(name.slice(0, name.indexOf('.')))!, name.slice(name.indexOf('.') + 1)] : [c, name];
    const refVars = [...comp.ref.path, 'variables', key];
    if (comp.ref.file.nodeAt(refVars)) return [comp.ref.file, refVars];
    const versionVars = [...comp.versionPath, 'variables', key];
    if (comp.versionPath.length && comp.recipe.file.nodeAt(versionVars)) return [comp.recipe.file, versionVars];
    return [comp.recipe.file, ['variables', key]];
  };
  const expanding: string[] = [];
  const scope: VarScope = {
    lookup: (name: string) => {
      if (Object.hasOwn(entries, name)) return entries[name];
      if (!Object.hasOwn(raw, name)) return undefined;
      // Inside another component's variable, its bare names are its own: ${linux.kver} may say "${base}-armmp".
      const owner = name.includes('.') && !name.startsWith('board.') ? name.slice(0, name.indexOf('.') + 1) : '';
      const inner: VarScope = owner
        ? { lookup: (n) => scope.lookup(!n.includes('.') && Object.hasOwn(raw, owner + n) ? owner + n : n), names: scope.names }
        : scope;
      if (expanding.includes(name)) {
        const chain = [...expanding.slice(expanding.indexOf(name)), name].join(' → ');
        ctx.error(...site(name), `variables refer to each other in a loop: ${chain}`, 'a variable may use others, but not itself through them');
        return { value: '' };
      }
      expanding.push(name);
      const r = interpolate(raw[name]!, inner);
      expanding.pop();
      if (!r.ok) {
        entries[name] = { value: raw[name]! };
        ctx.error(
          ...site(name),
          `variable "${name}" = "${raw[name]}" refers to ${r.malformed ? 'an unterminated ${' : `unknown ${r.unknown.map((u) => `\${${u}}`).join(', ')}`}`,
          'define it, or write $${ for a literal "${"',
        );
        return { value: raw[name]! };
      }
      const found = r.result.symbolic === r.result.value ? { value: r.result.value } : { value: r.result.value, symbolic: r.result.symbolic };
      entries[name] = found;
      return found;
    },
    names: () => [...Object.keys(entries), ...Object.keys(raw)],
  };
  return scope;
}
