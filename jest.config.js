// One Jest config for every package. Tests run TypeScript through SWC (with decorator metadata for
// Nest); Nest 12 and a few of its dependencies are ESM-only, so they are transformed too.
const path = require('node:path');

const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  },
];

const root = __dirname;
const base = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j)s$': swc },
  transformIgnorePatterns: [
    '/node_modules/(?!(@nestjs|file-type|strtok3|token-types|@tokenizer|uint8array-extras|load-esm|@prisma/schema-engine-wasm)/)',
  ],
  moduleNameMapper: {
    '^@portfleet/proto$': path.join(root, 'proto/src/index.ts'),
    '^@portfleet/proto/gen/(.*)$': path.join(root, 'proto/src/gen/portfleet/v1/$1.ts'),
    '^@portfleet/agent$': path.join(root, 'agent/src/index.ts'),
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
};

const layer = process.env.PORTFLEET_TEST_LAYER; // unit | integration | e2e | undefined (unit + integration)
const unit = (name) => ({
  ...base,
  displayName: `${name}:unit`,
  rootDir: path.join(root, name),
  testMatch: ['<rootDir>/src/**/*.test.ts'],
});
const integration = (name, dir = name) => ({
  ...base,
  displayName: `${name}:integration`,
  rootDir: path.join(root, dir),
  testMatch: ['<rootDir>/test/**/*.test.ts'],
});
const e2e = {
  ...base,
  displayName: 'console:e2e',
  rootDir: path.join(root, 'console'),
  testMatch: ['<rootDir>/e2e/**/*.e2e.test.ts'],
};

const consoleUnit = {
  ...unit('console'),
  moduleNameMapper: { ...base.moduleNameMapper, '^@/(.*)$': path.join(root, 'console/src/$1') },
};
const units = [...['proto', 'agent', 'controller', 'load-tests', 'vendor-cli'].map(unit), consoleUnit];
const integrations = [integration('proto'), integration('agent'), integration('controller'), integration('load-tests'), integration('system', '.')];

const layers = { unit: units, integration: integrations, e2e: [e2e] };
// testTimeout is a global option (a project's own is ignored): suites that start real processes
// get minutes, unit tests the default.
const timeouts = { unit: 30_000, integration: 180_000, e2e: 300_000 };
module.exports = {
  projects: layers[layer] ?? [...units, ...integrations],
  testTimeout: timeouts[layer] ?? timeouts.integration,
};
