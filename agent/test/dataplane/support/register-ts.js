// Lets a plain `node` child (inside `ip netns exec`) run the agent's TypeScript sources directly,
// compiled on load by SWC (as Jest does), so the data-plane suites need no prior build.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const swc = require('@swc/core');

const root = path.resolve(__dirname, '../../../..');
const aliases = { '@portfleet/proto': path.join(root, 'proto/src/index.ts') };
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  if (aliases[request]) return aliases[request];
  if (request.startsWith('@portfleet/proto/gen/')) {
    return path.join(root, 'proto/src/gen/portfleet/v1', `${request.slice('@portfleet/proto/gen/'.length)}.ts`);
  }
  if (request.startsWith('.') && request.endsWith('.js') && parent && parent.filename) {
    const ts = path.resolve(path.dirname(parent.filename), request.slice(0, -3) + '.ts');
    if (fs.existsSync(ts)) return ts;
  }
  return resolve.call(this, request, parent, ...rest);
};
require.extensions['.ts'] = (module, filename) => {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  });
  module._compile(code, filename);
};
