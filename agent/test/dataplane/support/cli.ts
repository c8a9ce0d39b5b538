// The agent's real command line from its sources (for `node -r register-ts.js cli.ts run ...`).
import { main } from '../../../src/cli/main';

void main(process.argv).then((code) => process.exit(code));
