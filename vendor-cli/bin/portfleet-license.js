#!/usr/bin/env node
'use strict';
const { main } = require('../dist/main.js');

void main().then((code) => process.exit(code));
