// The layering, checked on every `npm test` (npm run deps): what may import what. See src/README.md.
/** @type {import('dependency-cruiser').IConfiguration} */
const API = 'node_modules/(graphql|graphql-yoga|graphql-shield|graphql-middleware|@pothos|@graphql-yoga|@envelop|@graphql-tools|@escape\\.tech)/';

module.exports = {
  forbidden: [
    {
      name: 'domain-knows-no-api',
      comment: 'Only src/graphql and src/server speak GraphQL; domain modules throw plain typed errors (src/errors.ts).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(graphql|server)/' },
      to: { path: API },
    },
    {
      name: 'graphql-not-server',
      comment: 'The schema layer is below the server: it never reaches for the server\'s plugins or wiring.',
      severity: 'error',
      from: { path: '^src/graphql/' },
      to: { path: '^src/server/' },
    },
    {
      name: 'vectors-no-control-plane',
      comment: 'The vectors layer gets what it needs injected (a lock); it never touches PostgreSQL or Prisma.',
      severity: 'error',
      from: { path: '^src/vectors/' },
      to: { path: ['^src/(db|generated)/', 'node_modules/(@prisma|prisma|pg|@electric-sql|pglite-prisma-adapter)/'] },
    },
    {
      name: 'grants-minted-by-access-only',
      comment: 'Store grants are made only by the one access decision (src/auth/access.ts); others may use the type.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/auth/access\\.ts$', '^src/vectors/'] },
      to: { path: '^src/vectors/store-grant\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-folder-cycles',
      comment: 'Folders form layers: no two folders of src/ may import each other, directly or round about.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    includeOnly: ['^src/', '^node_modules/'],
    // The generated Prisma client is a dependency to see, not a tree to walk.
    doNotFollow: { path: ['node_modules', '^src/generated/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'] },
  },
};
