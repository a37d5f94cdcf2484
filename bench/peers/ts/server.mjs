// The TypeScript SDK peer of the benchmark: @modelcontextprotocol/sdk's McpServer with
// StreamableHTTPServerTransport on Express (createMcpExpressApp), following the SDK's
// documented patterns:
//   --mode stateful   one transport (and server) per session, kept in a map by session id;
//   --mode stateless  a new server and transport per request, sessionIdGenerator: undefined.
// Tools, as on every peer: test_simple_text (one line) and test_long_operation (`steps`
// progress notifications, no sleeps, then a one-line result).
// Usage: node server.mjs --port PORT --mode stateful|stateless   (binds 127.0.0.1)
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const port = Number(arg('port', '3000'));
const mode = arg('mode', 'stateful');

function buildServer() {
  const server = new McpServer({ name: 'ts-peer', version: '0.0.0' });
  server.registerTool(
    'test_simple_text',
    { description: 'Tests simple text content response', inputSchema: {} },
    async () => ({ content: [{ type: 'text', text: 'This is a simple text response for testing.' }] }),
  );
  server.registerTool(
    'test_long_operation',
    {
      description: 'Sends `steps` progress notifications, then answers',
      inputSchema: { steps: z.number().int().optional(), interval_ms: z.number().int().optional() },
    },
    async ({ steps = 100 }, extra) => {
      const token = extra._meta?.progressToken;
      if (token !== undefined) {
        for (let step = 1; step <= steps; step++) {
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken: token, progress: step, total: steps, message: `step ${step} of ${steps}` },
          });
        }
      }
      return { content: [{ type: 'text', text: `completed ${steps} steps` }] };
    },
  );
  return server;
}

const app = createMcpExpressApp({ host: '127.0.0.1' });

if (mode === 'stateless') {
  app.post('/mcp', async (req, res) => {
    const server = buildServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      transport.close();
      server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  const notAllowed = (_req, res) =>
    res.status(405).json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null });
  app.get('/mcp', notAllowed);
  app.delete('/mcp', notAllowed);
} else {
  const transports = {};
  app.post('/mcp', async (req, res) => {
    const sessionId = req.headers['mcp-session-id'];
    let transport;
    if (sessionId && transports[sessionId]) {
      transport = transports[sessionId];
    } else if (!sessionId && isInitializeRequest(req.body)) {
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          transports[id] = transport;
        },
      });
      transport.onclose = () => {
        if (transport.sessionId) delete transports[transport.sessionId];
      };
      const server = buildServer();
      await server.connect(transport);
    } else {
      res.status(400).json({ jsonrpc: '2.0', error: { code: -32000, message: 'Bad Request: No valid session ID provided' }, id: null });
      return;
    }
    await transport.handleRequest(req, res, req.body);
  });
  const sessionRequest = async (req, res) => {
    const sessionId = req.headers['mcp-session-id'];
    if (!sessionId || !transports[sessionId]) {
      res.status(400).send('Invalid or missing session ID');
      return;
    }
    await transports[sessionId].handleRequest(req, res);
  };
  app.get('/mcp', sessionRequest);
  app.delete('/mcp', sessionRequest);
}

app.listen(port, '127.0.0.1', (error) => {
  if (error) {
    console.error(error);
    process.exit(1);
  }
  console.log(`listening on http://127.0.0.1:${port}/mcp`);
});
