// Interoperability check: the official MCP TypeScript SDK client against our server.
//
//   node22 tests/interop/ts_client.mjs http://127.0.0.1:PORT/mcp [--slow-elicitation MS]
//
// Runs one legacy (2025-11-25, session-based) conversation through `Client` +
// `StreamableHTTPClientTransport`, then checks stream resumption byte-for-byte with raw fetch,
// then ends the session. Each step asserts what the spec requires; the first failure prints a
// clear message and exits 1. On success it prints a JSON summary on stdout and exits 0.
//
// `--slow-elicitation MS` makes the elicitation handler answer only after MS milliseconds, so a
// server started with `--max-stream-secs 1` must cut the tool's POST stream while it waits and
// the SDK must resume it with `Last-Event-ID` to get the result.
//
// The SDK is loaded as sdk.mjs says.

import assert from 'node:assert/strict';

import { sdk, sdkVersion, serverUrl } from './sdk.mjs';

const url = serverUrl('ts_client.mjs <server url> [--slow-elicitation MS]');
const slowFlag = process.argv.indexOf('--slow-elicitation');
const elicitationDelayMs = slowFlag > 0 ? Number(process.argv[slowFlag + 1]) : 0;

// Nothing here may hang the Rust test that runs this script.
const watchdog = setTimeout(() => fail('watchdog', new Error('the script ran for more than 90 s')), 90_000);

const summary = { sdk: null, url, steps: [], sseConnections: 0, transportErrors: [] };

function fail(step, error) {
  console.error(`FAILED at step "${step}": ${error?.stack ?? error}`);
  console.log(JSON.stringify({ ...summary, ok: false, failedStep: step, error: String(error?.message ?? error) }, null, 2));
  process.exit(1);
}

/** Runs one named step; records its duration and what it returns, or fails the script. */
async function step(name, fn) {
  const started = performance.now();
  try {
    const details = await fn();
    summary.steps.push({ step: name, ms: Math.round(performance.now() - started), ...(details ?? {}) });
    return details;
  } catch (error) {
    fail(name, error);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Parses an SSE body into events `{ id, data, retry }` (comments are skipped). Only what the
 * tests need: `\n` line ends, the `id`, `data` and `retry` fields.
 */
async function* sseEvents(body) {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = { id: undefined, data: [], retry: undefined };
      let hasField = false;
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        hasField = true;
        if (field === 'id') event.id = value;
        else if (field === 'data') event.data.push(value);
        else if (field === 'retry') event.retry = Number(value);
      }
      if (hasField) yield { ...event, data: event.data.join('\n') };
    }
  }
}

/**
 * Reads SSE events from `response` until the server ends it; `ended` is false if `ms` ran out,
 * and then the connection is dropped through `abort` (the controller of its fetch).
 */
async function readAll(response, ms, abort) {
  const events = [];
  const reading = (async () => {
    for await (const event of sseEvents(response.body)) events.push(event);
    return true;
  })().catch(() => false);
  const ended = await Promise.race([reading, sleep(ms).then(() => false)]);
  if (!ended) abort.abort();
  return { events, ended };
}

// ---------------------------------------------------------------------------------------------
// HTTP observation. The transport gets a fetch that records every request it makes and tees every
// SSE body it receives, so the script can check what went over the wire, not just what the SDK
// reported: which GETs carried Last-Event-ID, and that no message event reached the client twice.
// ---------------------------------------------------------------------------------------------

const httpLog = []; // { method, rpc, lastEventId, sessionId, status }
const deliveredEvents = new Map(); // SSE event id (with data) -> times the SDK received it

async function observingFetch(input, init = {}) {
  const headers = new Headers(init.headers);
  const entry = {
    method: init.method ?? 'GET',
    rpc: undefined,
    lastEventId: headers.get('last-event-id') ?? undefined,
    sessionId: headers.get('mcp-session-id') ?? undefined,
    status: undefined,
  };
  if (typeof init.body === 'string') {
    try {
      const body = JSON.parse(init.body);
      entry.rpc = body.method ? `${body.method}${body.params?.name ? ` ${body.params.name}` : ''}` : `response ${body.id}`;
    } catch {
      entry.rpc = 'unparsable';
    }
  }
  httpLog.push(entry);
  const response = await fetch(input, init);
  entry.status = response.status;
  if (!response.ok || !response.body || !(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    return response;
  }
  summary.sseConnections += 1;
  const [forSdk, forUs] = response.body.tee();
  (async () => {
    try {
      for await (const event of sseEvents(forUs)) {
        if (event.id !== undefined && event.data !== '') {
          deliveredEvents.set(event.id, (deliveredEvents.get(event.id) ?? 0) + 1);
        }
      }
    } catch {
      // The SDK aborted the connection (close, or a stream it no longer needs).
    }
  })();
  return new Response(forSdk, { status: response.status, statusText: response.statusText, headers: response.headers });
}

// ---------------------------------------------------------------------------------------------
// The SDK client.
// ---------------------------------------------------------------------------------------------

const { Client } = await sdk('client/index.js');
const { StreamableHTTPClientTransport } = await sdk('client/streamableHttp.js');
const { CreateMessageRequestSchema, ElicitRequestSchema, LATEST_PROTOCOL_VERSION } = await sdk('types.js');
summary.sdk = `@modelcontextprotocol/sdk ${await sdkVersion()}`;

const SAMPLED_TEXT = 'interop sampled answer';
const ELICITED_TEXT = 'interop elicited answer';

const sent = []; // every JSON-RPC message the client sent, in order
const received = []; // every JSON-RPC message the transport delivered, in order
const protocolErrors = []; // errors the Client reported (e.g. a response for an unknown id)
const samplingCalls = [];
const elicitationCalls = [];

const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: observingFetch });
// Installed before connect(): Protocol.connect() chains these, so they see everything.
transport.onmessage = (message) => received.push(message);
transport.onerror = (error) => summary.transportErrors.push(String(error?.message ?? error));
const send = transport.send.bind(transport);
transport.send = (message, options) => {
  sent.push(message);
  return send(message, options);
};

const client = new Client(
  { name: 'interop-ts-client', version: '1.0.0' },
  { capabilities: { sampling: {}, elicitation: { form: {} } } },
);
client.onerror = (error) => protocolErrors.push(String(error?.message ?? error));

// The server's sampling/createMessage requests are answered by this "LLM".
client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
  samplingCalls.push(request.params);
  return {
    role: 'assistant',
    content: { type: 'text', text: SAMPLED_TEXT },
    model: 'interop-test-model',
    stopReason: 'endTurn',
  };
});

// The server's elicitation/create requests are answered by this "user".
client.setRequestHandler(ElicitRequestSchema, async (request) => {
  elicitationCalls.push(request.params);
  if (elicitationDelayMs > 0) await sleep(elicitationDelayMs);
  return { action: 'accept', content: { response: ELICITED_TEXT } };
});

/** The id the client gave the last request it sent for `method` (and tool `name`). */
function sentRequestId(method, name) {
  const request = sent.findLast((m) => m.method === method && m.id !== undefined && (!name || m.params?.name === name));
  assert.ok(request, `the client never sent ${method} ${name ?? ''}`);
  return request.id;
}

/** How many responses with `id` the transport delivered. */
function responsesFor(id) {
  return received.filter((m) => m.id === id && ('result' in m || 'error' in m)).length;
}

const textOf = (result) => result.content?.find((c) => c.type === 'text')?.text;

// 1. initialize: proves the handshake, the session id, and that the SDK accepts our
//    InitializeResult (version, capabilities) under its own zod schemas.
await step('initialize', async () => {
  await client.connect(transport);
  assert.ok(transport.sessionId, 'the server sent no Mcp-Session-Id on initialize');
  assert.equal(client.getServerVersion()?.name, 'mcp-conformance-test-server');
  assert.equal(transport.protocolVersion, LATEST_PROTOCOL_VERSION, 'negotiated version');
  const capabilities = client.getServerCapabilities();
  for (const cap of ['tools', 'resources', 'prompts']) assert.ok(capabilities?.[cap], `server lacks the ${cap} capability`);
  return { protocolVersion: transport.protocolVersion, sessionId: transport.sessionId };
});

// 2. tools/list: every fixture tool this script calls is listed, and the SDK parses the list.
await step('tools/list', async () => {
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  for (const expected of ['test_simple_text', 'test_tool_with_progress', 'test_sampling', 'test_elicitation', 'test_reconnection', 'test_tool_with_logging', 'test_error_handling']) {
    assert.ok(names.includes(expected), `tools/list lacks ${expected}: ${names.join(', ')}`);
  }
  return { tools: names.length };
});

// 3. A plain tool call answered with JSON (no stream needed).
await step('tools/call test_simple_text', async () => {
  const result = await client.callTool({ name: 'test_simple_text', arguments: {} });
  assert.equal(result.isError ?? false, false);
  assert.ok(textOf(result), `no text content: ${JSON.stringify(result)}`);
  return { text: textOf(result) };
});

// 4. Progress: the request carries a progressToken (the SDK uses the request id); the server
//    streams three notifications/progress on the POST's SSE stream, each delivered to onprogress
//    with increasing progress, all before the result; the result echoes the token.
await step('tools/call test_tool_with_progress (onprogress)', async () => {
  const events = [];
  let order = 0;
  const result = await client.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined, {
    onprogress: (progress) => events.push({ ...progress, order: order++ }),
  });
  const resultOrder = order++;
  const id = sentRequestId('tools/call', 'test_tool_with_progress');
  assert.ok(events.length >= 3, `expected >= 3 progress notifications, got ${events.length}`);
  for (let i = 1; i < events.length; i++) {
    assert.ok(events[i].progress > events[i - 1].progress, `progress did not increase: ${JSON.stringify(events)}`);
  }
  assert.ok(events.every((e) => e.order < resultOrder), 'a progress notification arrived after the result');
  assert.equal(textOf(result), String(id), 'the tool should answer with the progress token');
  assert.equal(responsesFor(id), 1, 'the response was delivered more than once');
  return { progress: events.map((e) => e.progress), total: events[0].total };
});

// 5. Sampling: the tool sends sampling/createMessage to the client mid-call (on the POST stream);
//    the client's answer travels back in a separate POST and ends up in the tool's result.
await step('tools/call test_sampling', async () => {
  const result = await client.callTool({ name: 'test_sampling', arguments: { prompt: 'Say hi' } });
  assert.equal(samplingCalls.length, 1, 'the sampling handler was not invoked exactly once');
  assert.equal(samplingCalls[0].messages?.[0]?.content?.text, 'Say hi', 'the prompt did not reach the client');
  assert.equal(textOf(result), `LLM response: ${SAMPLED_TEXT}`);
  return { text: textOf(result) };
});

// 6. Elicitation: same round trip with elicitation/create (form mode) and an accepted answer.
//    With --slow-elicitation the answer comes after the server has cut the stream (see top).
await step('tools/call test_elicitation', async () => {
  const tokens = [];
  const before = httpLog.length;
  const result = await client.callTool({ name: 'test_elicitation', arguments: { message: 'Your name?' } }, undefined, {
    onresumptiontoken: (token) => tokens.push(token),
    timeout: 30_000,
  });
  assert.equal(elicitationCalls.length, 1, 'the elicitation handler was not invoked exactly once');
  assert.equal(elicitationCalls[0].message, 'Your name?');
  assert.equal(textOf(result), `User response: action=accept, content=${JSON.stringify({ response: ELICITED_TEXT })}`);
  const id = sentRequestId('tools/call', 'test_elicitation');
  assert.equal(responsesFor(id), 1, `the result arrived ${responsesFor(id)} times`);
  // GETs that resumed this call's stream (tokens are the event ids the SDK saw on it).
  const resumes = httpLog.slice(before).filter((e) => e.method === 'GET' && tokens.includes(e.lastEventId));
  if (elicitationDelayMs > 0) {
    assert.ok(resumes.length >= 1, `the POST stream should have been cut and resumed while the handler waited: ${JSON.stringify(httpLog.slice(before))}`);
    assert.ok(resumes.every((e) => e.status === 200), 'a resumption GET was refused');
  }
  return { text: textOf(result), resumedWith: resumes.map((e) => e.lastEventId) };
});

// 7. resources/read of a static resource.
await step('resources/read test://static-text', async () => {
  const { resources } = await client.listResources();
  assert.ok(resources.some((r) => r.uri === 'test://static-text'), 'resources/list lacks test://static-text');
  const { contents } = await client.readResource({ uri: 'test://static-text' });
  assert.equal(contents.length, 1);
  assert.equal(contents[0].uri, 'test://static-text');
  assert.equal(contents[0].text, 'This is the content of the static text resource.');
  return { text: contents[0].text };
});

// 8. prompts/get with arguments.
await step('prompts/get test_prompt_with_arguments', async () => {
  const { prompts } = await client.listPrompts();
  assert.ok(prompts.some((p) => p.name === 'test_prompt_with_arguments'));
  const prompt = await client.getPrompt({ name: 'test_prompt_with_arguments', arguments: { arg1: 'one', arg2: 'two' } });
  assert.equal(prompt.messages[0].content.text, "Prompt with arguments: arg1='one', arg2='two'");
  return { text: prompt.messages[0].content.text };
});

// 9. Resumption through the SDK (SEP-1699): the server closes the POST's SSE connection right
//    after the priming event; the SDK must reconnect with GET + Last-Event-ID = that event's id
//    (after the server's `retry:` delay), get the result there exactly once, and never re-POST.
await step('tools/call test_reconnection (SDK resumes with Last-Event-ID)', async () => {
  const tokens = [];
  const before = httpLog.length;
  const result = await client.callTool({ name: 'test_reconnection', arguments: {} }, undefined, {
    onresumptiontoken: (token) => tokens.push(token),
    timeout: 30_000,
  });
  assert.match(textOf(result) ?? '', /^Reconnection test completed successfully/);
  const id = sentRequestId('tools/call', 'test_reconnection');
  const traffic = httpLog.slice(before);
  const posts = traffic.filter((e) => e.method === 'POST' && e.rpc === 'tools/call test_reconnection');
  assert.equal(posts.length, 1, 'the SDK re-sent the request instead of resuming');
  assert.ok(tokens.length >= 1, 'the POST stream had no priming event id');
  const resume = traffic.find((e) => e.method === 'GET' && e.lastEventId === tokens[0]);
  assert.ok(resume, `no GET with Last-Event-ID ${tokens[0]}: ${JSON.stringify(traffic)}`);
  assert.equal(resume.status, 200, 'the resumption GET was refused');
  assert.equal(responsesFor(id), 1, `the result arrived ${responsesFor(id)} times`);
  return { primingEventId: tokens[0], resumedWith: resume.lastEventId };
});

// 10. Resumption checked byte-for-byte with raw HTTP in the same session: POST a progress tool
//     call, read its SSE stream up to the first progress event, drop the connection, then GET
//     with Last-Event-ID = that event's id. The resumed stream must carry exactly the events after
//     the cut (the two remaining progress notifications, then the response), in order, with no
//     duplicate and nothing from before the cut; the tool must not have been cancelled by the
//     disconnect. (The SDK's own traffic is checked the same way in step 12.)
await step('raw resume after a cut: remaining events exactly once', async () => {
  const common = {
    'mcp-session-id': transport.sessionId,
    'mcp-protocol-version': transport.protocolVersion,
  };
  const abort = new AbortController();
  const post = await fetch(url, {
    method: 'POST',
    headers: { ...common, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 'raw-progress-1',
      method: 'tools/call',
      params: { name: 'test_tool_with_progress', arguments: {}, _meta: { progressToken: 'raw-token' } },
    }),
    signal: abort.signal,
  });
  assert.equal(post.status, 200);
  assert.match(post.headers.get('content-type') ?? '', /^text\/event-stream/, 'progress must be streamed');
  const beforeCut = [];
  for await (const event of sseEvents(post.body)) {
    beforeCut.push(event);
    if (event.data && JSON.parse(event.data).method === 'notifications/progress') break;
  }
  abort.abort(); // the client goes away mid-stream
  const cut = beforeCut.at(-1);
  assert.ok(cut?.id, `the first progress event had no id: ${JSON.stringify(beforeCut)}`);
  assert.equal(beforeCut[0].data, '', 'the stream should open with a priming event');

  const get = await fetch(url, {
    headers: { ...common, accept: 'text/event-stream', 'last-event-id': cut.id },
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(get.status, 200, `resumption GET answered ${get.status}: ${await get.clone().text()}`);
  const afterCut = [];
  for await (const event of sseEvents(get.body)) afterCut.push(event); // ends after the response

  const messages = afterCut.filter((e) => e.data !== '');
  const ids = messages.map((e) => e.id);
  const seq = (id) => Number(id.split('.').at(-1));
  const stream = (id) => id.split('.').slice(0, -1).join('.');
  assert.equal(new Set(ids).size, ids.length, `duplicate event ids after the cut: ${ids}`);
  assert.ok(ids.every((id) => stream(id) === stream(cut.id)), `events from another stream: ${ids}`);
  assert.ok(ids.every((id) => seq(id) > seq(cut.id)), `events from before the cut were replayed: ${ids}`);
  for (let i = 1; i < ids.length; i++) assert.ok(seq(ids[i]) > seq(ids[i - 1]), `events out of order: ${ids}`);
  const parsed = messages.map((e) => JSON.parse(e.data));
  const progress = parsed.filter((m) => m.method === 'notifications/progress').map((m) => m.params.progress);
  const first = JSON.parse(cut.data).params.progress;
  assert.deepEqual([first, ...progress], [0, 50, 100], 'progress before + after the cut should be 0, 50, 100 once each');
  assert.equal(parsed.length, 3, `expected 2 progress notifications + 1 response, got ${JSON.stringify(parsed)}`);
  assert.equal(parsed.at(-1).id, 'raw-progress-1', 'the response must come last');
  assert.deepEqual(parsed.at(-1).result?.content?.[0]?.text, 'raw-token');
  return { cutAfter: cut.id, resumed: ids, finalEventId: ids.at(-1) };
});
const finalEventId = summary.steps.at(-1).finalEventId;

/** Headers of a raw request in the SDK's session. */
const sessionHeaders = (extra) => ({
  'mcp-session-id': transport.sessionId,
  'mcp-protocol-version': transport.protocolVersion,
  ...extra,
});

// 10b. Resuming a stream that already delivered its response must not hang: the spec says the
//      server SHOULD terminate a POST's SSE stream once its response is sent (2025-11-25,
//      basic/transports, "Sending Messages to the Server"), so a GET with Last-Event-ID = the id
//      of that final event has nothing to replay and should end at once.
await step('raw resume after the final event', async () => {
  const abort = new AbortController();
  const get = await fetch(url, {
    headers: sessionHeaders({ accept: 'text/event-stream', 'last-event-id': finalEventId }),
    signal: abort.signal,
  });
  if (!get.ok) {
    await get.body?.cancel();
    return { status: get.status }; // refusing is fine too: nothing is owed on that stream
  }
  // Well under --max-stream-secs 1, whose deadline would end the connection anyway.
  const { events, ended } = await readAll(get, 500, abort);
  assert.deepEqual(events.filter((e) => e.data !== ''), [], 'messages replayed after the final event');
  // 2025-11-25: "After the JSON-RPC response has been sent, the server SHOULD terminate the
  // SSE stream" — resuming after the final event must not leave a connection hanging.
  assert.ok(ended, `GET with Last-Event-ID ${finalEventId} (the final event of a completed stream) was still open after 500 ms`);
  return { status: get.status, ended };
});

// 10c. Resuming while the first connection is still open: each message must still be delivered
//      once. The spec (2025-11-25, basic/transports, "Multiple Connections") says the server MUST
//      send each JSON-RPC message on only one of the connected streams, never on several. Made
//      deterministic with the elicitation tool: it blocks until we answer, so both connections
//      are open and idle when the tool's response is produced.
await step('raw resume while the first connection is still open', async () => {
  const postAbort = new AbortController();
  const post = await fetch(url, {
    method: 'POST',
    headers: sessionHeaders({ 'content-type': 'application/json', accept: 'application/json, text/event-stream' }),
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 'raw-elicit-1',
      method: 'tools/call',
      params: { name: 'test_elicitation', arguments: { message: 'raw' } },
    }),
    signal: postAbort.signal,
  });
  assert.equal(post.status, 200);
  // Read the POST stream up to the server's elicitation/create request; keep the connection.
  const iterator = sseEvents(post.body)[Symbol.asyncIterator]();
  let question;
  while (!question) {
    const { value, done } = await iterator.next();
    assert.ok(!done, 'the POST stream ended before the elicitation request');
    if (value.data && JSON.parse(value.data).method === 'elicitation/create') question = value;
  }
  const request = JSON.parse(question.data);

  // Resume the same stream from that event on a second connection.
  const getAbort = new AbortController();
  const get = await fetch(url, {
    headers: sessionHeaders({ accept: 'text/event-stream', 'last-event-id': question.id }),
    signal: getAbort.signal,
  });
  assert.equal(get.status, 200, `resumption GET answered ${get.status}`);

  // Answer the elicitation; the tool then produces its response.
  const answer = await fetch(url, {
    method: 'POST',
    headers: sessionHeaders({ 'content-type': 'application/json', accept: 'application/json, text/event-stream' }),
    body: JSON.stringify({ jsonrpc: '2.0', id: request.id, result: { action: 'accept', content: { response: 'raw' } } }),
  });
  assert.equal(answer.status, 202, 'a JSON-RPC response from the client is answered 202 Accepted');

  const onPost = [];
  const postReading = (async () => {
    for (;;) {
      const { value, done } = await iterator.next();
      if (done) return;
      onPost.push(value);
    }
  })().catch(() => {});
  const { events: onGet } = await readAll(get, 5_000, getAbort);
  await Promise.race([postReading, sleep(2_000)]);
  postAbort.abort();

  const responses = (events) => events.filter((e) => e.data && JSON.parse(e.data).id === 'raw-elicit-1');
  const total = responses(onPost).length + responses(onGet).length;
  assert.ok(total >= 1, 'the tool response was not delivered on either connection');
  assert.ok(responses(onGet).length === 1, 'the resumed connection should carry the response');
  assert.ok(onGet.every((e) => !e.id || Number(e.id.split('.').at(-1)) > Number(question.id.split('.').at(-1))), 'the GET replayed events from before its Last-Event-ID');
  // The resuming connection takes the stream over; the original one ends without it.
  assert.equal(total, 1, `the tool response was delivered ${total} times (POST connection: ${responses(onPost).length}, resumed GET: ${responses(onGet).length})`);
  return { resumedFrom: question.id, onPost: onPost.map((e) => e.id), onGet: onGet.map((e) => e.id) };
});

// 11. A logging tool: notifications/message on the stream don't disturb the result.
await step('tools/call test_tool_with_logging', async () => {
  const result = await client.callTool({ name: 'test_tool_with_logging', arguments: {} });
  assert.match(textOf(result) ?? '', /logging executed successfully/);
  const logs = received.filter((m) => m.method === 'notifications/message').length;
  assert.ok(logs >= 3, `expected >= 3 log notifications, got ${logs}`);
  return { logs };
});

// 12. Over the whole SDK conversation: no SSE message event was delivered twice (across POST
//     streams, the standalone GET stream and every resumed connection), every request got exactly
//     one response, and the Client reported no protocol error (e.g. a response for an unknown id).
await step('exactly-once over the whole session', async () => {
  const repeated = [...deliveredEvents].filter(([, n]) => n > 1);
  assert.deepEqual(repeated, [], `SSE events delivered more than once: ${JSON.stringify(repeated)}`);
  for (const request of sent.filter((m) => m.method && m.id !== undefined)) {
    assert.equal(responsesFor(request.id), 1, `${request.method} (id ${request.id}) got ${responsesFor(request.id)} responses`);
  }
  assert.deepEqual(protocolErrors, [], 'the Client reported protocol errors');
  return { sseEventsDelivered: deliveredEvents.size };
});

// 13. Session end: DELETE through the SDK succeeds; afterwards the server MUST answer requests
//     naming that session with 404 Not Found (spec: basic/transports, session management), both
//     POST and GET.
await step('terminateSession, then 404', async () => {
  const sessionId = transport.sessionId;
  await transport.terminateSession();
  const deletes = httpLog.filter((e) => e.method === 'DELETE');
  assert.equal(deletes.at(-1)?.status, 200, `DELETE answered ${deletes.at(-1)?.status}`);
  const headers = {
    'mcp-session-id': sessionId,
    'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  };
  const post = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 'after-delete', method: 'tools/list' }),
  });
  assert.equal(post.status, 404, `POST on the ended session answered ${post.status}: ${await post.text()}`);
  const get = await fetch(url, { headers: { ...headers, accept: 'text/event-stream' } });
  await get.body?.cancel();
  assert.equal(get.status, 404, `GET on the ended session answered ${get.status}`);
  return { postStatus: post.status, getStatus: get.status };
});

await client.close();
clearTimeout(watchdog);
summary.http = httpLog.map((e) => `${e.method} ${e.rpc ?? ''}${e.lastEventId ? ` Last-Event-ID=${e.lastEventId}` : ''} -> ${e.status}`);
console.log(JSON.stringify({ ...summary, ok: true }, null, 2));
process.exit(0);
