/**
 * The floors of src/ (ARCHITECTURE.md), from the bottom:
 *
 *   util → model → host → domain (boot, dt, check, image, flash) → analysis | engine → actions, report → commands → cli
 *
 * A module imports only from its own floor or below. The engine is the
 * scheduler: it imports util, model and host, and never an action or the domain.
 * Checked by `npm test` (test/architecture.test.ts) and by `npm run lint`.
 */
const floor = (name, dirs) => ({ name, path: `^src/(${dirs})(/|\\.ts$)` });
const FLOORS = [
  floor('util', 'util'),
  floor('model', 'model'),
  floor('host', 'host'),
  floor('domain', 'boot|dt|check|image|flash'),
  floor('config', 'config|config-schema'),
  floor('analysis', 'analysis'),
  floor('engine', 'engine'),
  floor('actions', 'actions'),
  floor('report', 'report'),
  floor('commands', 'commands'),
];
/** What each floor may import besides itself. */
const ALLOWED = {
  util: [],
  model: ['util'],
  host: ['util'],
  domain: ['util', 'model', 'host'],
  config: ['util'],
  analysis: ['util', 'model', 'host', 'domain', 'config'],
  engine: ['util', 'model', 'host'],
  actions: ['util', 'model', 'host', 'domain', 'engine'],
  report: ['util', 'model', 'host', 'engine'],
  commands: ['util', 'model', 'host', 'domain', 'config', 'analysis', 'engine', 'actions', 'report'],
};
const byName = Object.fromEntries(FLOORS.map((f) => [f.name, f.path]));

module.exports = {
  forbidden: [
    ...FLOORS.map((f) => ({
      name: `floor-${f.name}`,
      comment: `${f.name} imports only from ${[f.name, ...ALLOWED[f.name]].join(', ')} (see ARCHITECTURE.md)`,
      severity: 'error',
      from: { path: f.path },
      to: { path: '^src/', pathNot: [f.path, ...ALLOWED[f.name].map((n) => byName[n])] },
    })),
    {
      name: 'no-circular',
      comment: 'no module depends on itself through others',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-orphans',
      comment: 'every module in src/ is used by something (or is an entry point)',
      severity: 'error',
      from: { orphan: true, path: '^src/', pathNot: ['^src/(cli|bench/[a-z-]+|schema/emit)\\.ts$', '\\.d\\.ts$'] },
      to: {},
    },
    {
      name: 'not-to-test',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
