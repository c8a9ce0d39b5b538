#!/usr/bin/env node
'use strict';
// The agent's command line, from the build output (`npx tsc -b agent` produces agent/dist).
const path = require('node:path');
const { main } = require(path.join(__dirname, '..', 'dist', 'cli', 'main.js'));
main(process.argv).then((code) => process.exit(code));
