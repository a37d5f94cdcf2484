// An idle host: the official MCP TypeScript SDK client connects and then does nothing, as a
// host does between its user's questions. Driven by tests/idle_host.rs:
//
//   node22 tests/interop/ts_idle.mjs http://127.0.0.1:PORT/prod/mcp
//
// Connects (`initialize`, `notifications/initialized`, and whatever the SDK opens on its own:
// the standalone GET stream), prints `{"ready":true}`, then waits for a line on stdin (the test
// idles meanwhile and counts what the server does). Then lists tools (the session still works
// after the idle spell) and prints a JSON summary: every HTTP request the SDK made, with its
// status, and every error the transport reported. Exits 1 on any failure.
//
// The SDK is loaded as sdk.mjs says.

import readline from 'node:readline';

import { sdk, serverUrl } from './sdk.mjs';

const url = serverUrl('ts_idle.mjs <server url>');

const requests = []; // { method, rpc, lastEventId, status }
const transportErrors = [];

async function observingFetch(input, init = {}) {
  const headers = new Headers(init.headers);
  const entry = {
    method: init.method ?? 'GET',
    rpc: undefined,
    lastEventId: headers.get('last-event-id') ?? undefined,
    status: undefined,
  };
  if (typeof init.body === 'string') {
    try {
      entry.rpc = JSON.parse(init.body).method;
    } catch {
      entry.rpc = 'unparsable';
    }
  }
  requests.push(entry);
  const response = await fetch(input, init);
  entry.status = response.status;
  return response;
}

function fail(error) {
  console.error(`FAILED: ${error?.stack ?? error}`);
  console.log(JSON.stringify({ ok: false, error: String(error?.message ?? error), requests, transportErrors }));
  process.exit(1);
}

try {
  const { Client } = await sdk('client/index.js');
  const { StreamableHTTPClientTransport } = await sdk('client/streamableHttp.js');
  const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: observingFetch });
  const client = new Client({ name: 'idle-host', version: '1.0.0' }, { capabilities: {} });
  client.onerror = (error) => transportErrors.push(String(error?.message ?? error));
  await client.connect(transport);
  console.log(JSON.stringify({ ready: true }));

  const lines = readline.createInterface({ input: process.stdin });
  await new Promise((resolve) => lines.once('line', resolve));
  lines.close();

  const tools = await client.listTools();
  const capabilities = client.getServerCapabilities();
  await transport.close();
  console.log(JSON.stringify({ ok: true, tools: tools.tools.length, capabilities, requests, transportErrors }));
  process.exit(0);
} catch (error) {
  fail(error);
}
