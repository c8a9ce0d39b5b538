import path from 'node:path';
import type { NextConfig } from 'next';

const config: NextConfig = {
  // npm workspaces hoist dependencies to the repository root.
  turbopack: { root: path.join(__dirname, '..') },
  poweredByHeader: false,
  reactStrictMode: true,
};

export default config;
