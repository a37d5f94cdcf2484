// What the TypeScript scripts here share: loading the official MCP TypeScript SDK, and the
// server URL argument.
//
// The SDK is imported from `.tools/npm/node_modules/@modelcontextprotocol/sdk` (installed by
// scripts/install-test-tools.sh) by absolute path, so no NODE_PATH is needed; set
// MCP_TS_SDK_DIR to use another copy.

import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const sdkDir =
  process.env.MCP_TS_SDK_DIR ?? path.join(root, '.tools/npm/node_modules/@modelcontextprotocol/sdk');

/** Imports `file` of the SDK's ESM build, e.g. `client/index.js`. */
export const sdk = (file) => import(pathToFileURL(path.join(sdkDir, 'dist/esm', file)).href);

/** The server URL, the first argument; exits 2 with `usage` when it is missing. */
export function serverUrl(usage) {
  const url = process.argv[2];
  if (!url) {
    console.error(`usage: ${usage}`);
    process.exit(2);
  }
  return url;
}

/** The SDK's version, from its package.json. */
export async function sdkVersion() {
  const manifest = pathToFileURL(path.join(sdkDir, 'package.json')).href;
  return (await import(manifest, { with: { type: 'json' } })).default.version;
}
