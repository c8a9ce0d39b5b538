import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** A package's JS entry under node_modules, run with `node` (npx wrappers orphan children). */
export const bin = (path) => join(REPO, 'node_modules', path);

export const log = (who, message) => process.stderr.write(`\x1b[36m[${who}]\x1b[0m ${message}\n`);
