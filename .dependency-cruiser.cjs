/**
 * The walls between Highlander's parts, checked in CI (`npm run check:deps`, run by scripts/test.sh):
 *
 *   kit ← runtime ← {audience, admin-api} ← cli ← {scripts, bench, test}
 *   dashboard → admin-api: types only (nothing of the server reaches the browser bundle)
 *
 * No cycles anywhere; a part reaches another only through its package name (its `exports`), never
 * by a relative path into its files; no package imports the repository's scripts, benchmarks or tests.
 */
const PARTS = ['kit', 'runtime', 'audience', 'admin-api', 'cli'];
/** What each part may import (besides itself and npm packages). */
const ALLOWED = {
  kit: [],
  runtime: ['kit'],
  audience: ['kit', 'runtime'],
  'admin-api': ['kit', 'runtime', 'audience'],
  cli: ['kit', 'runtime', 'audience', 'admin-api', 'dashboard', 'examples'],
};
const src = (part) => `^${part}/src/`;

module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'An import cycle: parts and modules import down, never back.',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    ...PARTS.map((part) => ({
      name: `direction-${part}`,
      severity: 'error',
      comment: `${part} may import only ${ALLOWED[part].join(', ') || 'nothing of the other parts'} (dependencies point down: kit ← runtime ← {audience, admin-api} ← cli).`,
      from: { path: src(part) },
      to: { path: `^(${[...PARTS, 'dashboard', 'examples', 'scripts', 'bench', 'test'].filter((p) => p !== part && !ALLOWED[part].includes(p)).join('|')})/` },
    })),
    {
      name: 'by-package-name',
      severity: 'error',
      comment: 'Reach another part through its package name (its exports), not a relative path into its files.',
      from: { path: '^(kit|runtime|audience|admin-api|cli|dashboard|examples|scripts|bench)/' },
      to: { path: '^(kit|runtime|audience|admin-api|cli|dashboard|examples)/', dependencyTypes: ['local'], dependencyTypesNot: ['aliased-workspace', 'aliased'], pathNot: '^$1/' },
    },
    {
      name: 'dashboard-types-only',
      severity: 'error',
      comment: 'The dashboard takes the server\'s types only (`import type`): nothing of the server may reach the browser.',
      from: { path: '^dashboard/src/' },
      to: { path: '^(kit|runtime|audience|admin-api|cli)/', dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)dist/|^node_modules/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    combinedDependencies: false,
    enhancedResolveOptions: {
      conditionNames: ['@highlander/source', 'import', 'require', 'node', 'default', 'types'],
      exportsFields: ['exports'],
      mainFields: ['module', 'main', 'types', 'typings'],
      extensions: ['.ts', '.js', '.svelte', '.d.ts', '.json'],
    },
  },
};
