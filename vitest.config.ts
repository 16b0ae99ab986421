import { defineConfig } from 'vitest/config';

/** Tests run the packages' TypeScript sources: the `@highlander/source` export condition points there (see each package.json). */
const conditions = ['@highlander/source', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ['test/**/*.test.ts'],
    // One ZooKeeper and one radosgw for the whole run, shared by every test file.
    globalSetup: ['test/harness/global-setup.ts'],
    testTimeout: 60_000,
    // Hooks may start their own real servers (a radosgw cold start is ~10–15 s).
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores, and the servers are shared: one test file at a time.
    fileParallelism: false,
  },
});
