// The official MCP TypeScript SDK client runs a report task end to end (2025-11-25 tasks).
//
//   node22 tests/interop/ts_task.mjs http://127.0.0.1:PORT/mcp
//
// Connects with `Client` + `StreamableHTTPClientTransport`, checks that `tools/list` marks
// get_bedrock_usage_report as task-capable, runs it with
// `client.experimental.tasks.callToolStream` (task created, polled, result fetched), and
// compares the report with a direct `callTool`. Prints a JSON summary and exits 0, or exits 1.

import assert from 'node:assert/strict';

import { sdk, serverUrl } from './sdk.mjs';

const url = serverUrl('ts_task.mjs <server url>');
const watchdog = setTimeout(() => {
  console.error('the script ran for more than 60 s');
  process.exit(1);
}, 60_000);

const { Client } = await sdk('client/index.js');
const { StreamableHTTPClientTransport } = await sdk('client/streamableHttp.js');

const client = new Client({ name: 'ts-task', version: '1.0.0' }, { capabilities: {} });
const transport = new StreamableHTTPClientTransport(new URL(url));
try {
  await client.connect(transport);
  const tools = await client.listTools();
  const report = tools.tools.find((t) => t.name === 'get_bedrock_usage_report');
  assert.equal(report?.execution?.taskSupport, 'optional', 'the report tool supports tasks');

  const params = { name: 'get_bedrock_usage_report', arguments: { days: 7 } };
  const direct = await client.callTool(params);
  const kinds = [];
  let result;
  for await (const message of client.experimental.tasks.callToolStream(params, undefined, { task: {} })) {
    kinds.push(message.type);
    if (message.type === 'error') throw message.error;
    if (message.type === 'result') result = message.result;
  }
  assert.equal(kinds[0], 'taskCreated', `the stream starts with the task: ${kinds}`);
  assert.ok(result, `a result: ${kinds}`);
  for (const section of ['totals', 'by_model', 'by_day']) {
    assert.deepEqual(result.structuredContent[section], direct.structuredContent[section], section);
  }
  console.log(JSON.stringify({ ok: true, messages: kinds, requests: result.structuredContent.totals.requests }));
} catch (error) {
  console.error(`FAILED: ${error?.stack ?? error}`);
  process.exit(1);
} finally {
  clearTimeout(watchdog);
  await transport.terminateSession().catch(() => {});
  await client.close().catch(() => {});
}
