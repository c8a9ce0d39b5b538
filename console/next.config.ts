import path from 'node:path';
import type { NextConfig } from 'next';

// Builds run on offline machines: never send usage telemetry (read after this file loads).
process.env.NEXT_TELEMETRY_DISABLED ??= '1';

const config: NextConfig = {
  // npm workspaces hoist dependencies to the repository root.
  turbopack: { root: path.join(__dirname, '..') },
  poweredByHeader: false,
  reactStrictMode: true,
};

export default config;
