// The official MCP TypeScript SDK's OAuth client against our server in OAuth mode.
//
//   node22 tests/interop/ts_oauth.mjs SERVER_URL ISSUER_URL client-credentials CLIENT_ID SECRET SCOPE
//   node22 tests/interop/ts_oauth.mjs SERVER_URL ISSUER_URL authorization-code CLIENT_ID REDIRECT_URI
//
// Both modes go through the SDK's own flow: the first request gets 401, the SDK reads the
// challenge's resource_metadata, fetches the Protected Resource Metadata and the authorization
// server's metadata, obtains a token, and sends the request again with it.
//
// - client-credentials: the SDK's `ClientCredentialsProvider` (client_secret_basic), pinned to
//   ISSUER_URL with `expectedIssuer`, asking for SCOPE (this provider sends only the scope it is
//   configured with, not the challenge's).
// - authorization-code: an `OAuthClientProvider` as a host implements it, with a pre-registered
//   public client (no dynamic registration, as with Amazon Cognito). Its
//   `redirectToAuthorization` plays the browser: it follows the authorization URL (the test
//   issuer approves at once) and takes the code from the redirect; `finishAuth` exchanges it
//   with the PKCE verifier, and a new connection uses the token.
//
// Then it lists tools and calls `test_simple_text`. Prints a JSON summary and exits 0, or
// prints what failed and exits 1.

import assert from 'node:assert/strict';

import { sdk, sdkVersion } from './sdk.mjs';

const [url, issuer, mode, clientId, secretOrRedirect, scope] = process.argv.slice(2);
if (!url || !issuer || !mode || !clientId || !secretOrRedirect) {
  console.error('usage: ts_oauth.mjs SERVER_URL ISSUER_URL (client-credentials CLIENT_ID SECRET SCOPE | authorization-code CLIENT_ID REDIRECT_URI)');
  process.exit(2);
}

const watchdog = setTimeout(() => fail('watchdog', new Error('the script ran for more than 60 s')), 60_000);
const summary = { sdk: await sdkVersion(), url, mode, steps: [], unauthorized: 0, bearerRequests: 0 };

function fail(step, error) {
  console.error(`FAILED at step "${step}": ${error?.stack ?? error}`);
  console.log(JSON.stringify({ ...summary, ok: false, failedStep: step, error: String(error?.message ?? error) }, null, 2));
  process.exit(1);
}

async function step(name, fn) {
  try {
    const details = await fn();
    summary.steps.push({ step: name, ...(details ?? {}) });
    return details;
  } catch (error) {
    fail(name, error);
  }
}

const { Client } = await sdk('client/index.js');
const { StreamableHTTPClientTransport } = await sdk('client/streamableHttp.js');
const { UnauthorizedError } = await sdk('client/auth.js');
const { ClientCredentialsProvider } = await sdk('client/auth-extensions.js');

/** fetch that counts what the MCP endpoint answered, to see the 401 -> token -> retry path. */
const observed = async (input, init) => {
  const response = await fetch(input, init);
  const target = String(input instanceof Request ? input.url : input);
  if (target === url) {
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    if (response.status === 401) summary.unauthorized += 1;
    if ((headers.get('authorization') ?? '').startsWith('Bearer ')) summary.bearerRequests += 1;
  }
  return response;
};

/** A host's provider: a pre-registered public client, tokens and verifier kept in memory. */
class HostProvider {
  constructor(clientId, redirectUrl) {
    this._clientId = clientId;
    this._redirectUrl = redirectUrl;
    this._tokens = undefined;
    this._verifier = undefined;
    this.code = undefined;
    this.authorizationUrl = undefined;
  }
  get redirectUrl() {
    return this._redirectUrl;
  }
  get clientMetadata() {
    return {
      client_name: 'interop host',
      redirect_uris: [this._redirectUrl],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() {
    return { client_id: this._clientId };
  }
  tokens() {
    return this._tokens;
  }
  saveTokens(tokens) {
    this._tokens = tokens;
  }
  saveCodeVerifier(verifier) {
    this._verifier = verifier;
  }
  codeVerifier() {
    return this._verifier;
  }
  state() {
    return 'interop-state';
  }
  /** The browser's part: open the URL, let the authorization server approve, read the code. */
  async redirectToAuthorization(authorizationUrl) {
    this.authorizationUrl = new URL(authorizationUrl);
    const response = await fetch(authorizationUrl, { redirect: 'manual' });
    assert.equal(response.status, 302, `the authorization endpoint answered ${response.status}: ${await response.text()}`);
    const location = new URL(response.headers.get('location'));
    assert.equal(`${location.origin}${location.pathname}`, this._redirectUrl);
    assert.equal(location.searchParams.get('state'), 'interop-state');
    this.code = location.searchParams.get('code');
    assert.ok(this.code, 'the redirect carries a code');
  }
}

async function useServer(client) {
  const tools = await step('tools/list', async () => {
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === 'test_simple_text'), 'test_simple_text is listed');
    return { tools: tools.length };
  });
  await step('tools/call', async () => {
    const result = await client.callTool({ name: 'test_simple_text', arguments: {} });
    assert.notEqual(result.isError, true, JSON.stringify(result));
    assert.match(result.content[0].text, /simple text/);
    return { text: result.content[0].text };
  });
  return tools;
}

if (mode === 'client-credentials') {
  const provider = new ClientCredentialsProvider({ clientId, clientSecret: secretOrRedirect, scope, expectedIssuer: issuer });
  const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider, fetch: observed });
  const client = new Client({ name: 'ts-oauth-interop', version: '1.0.0' });
  await step('connect (401, discovery, client credentials, retry)', async () => {
    await client.connect(transport);
    assert.ok(provider.tokens()?.access_token, 'the provider holds a token');
    return { protocol: transport.protocolVersion ?? null };
  });
  await useServer(client);
  await client.close();
} else if (mode === 'authorization-code') {
  const provider = new HostProvider(clientId, secretOrRedirect);
  const first = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider, fetch: observed });
  await step('connect (401, discovery, authorization request)', async () => {
    try {
      await new Client({ name: 'ts-oauth-interop', version: '1.0.0' }).connect(first);
      assert.fail('the first connection should need authorization');
    } catch (error) {
      if (!(error instanceof UnauthorizedError)) throw error;
    }
    const params = provider.authorizationUrl.searchParams;
    assert.equal(params.get('code_challenge_method'), 'S256');
    assert.equal(params.get('client_id'), clientId);
    return { resource: params.get('resource'), scope: params.get('scope') };
  });
  await step('finishAuth (code + PKCE verifier for a token)', async () => {
    await first.finishAuth(provider.code);
    assert.ok(provider.tokens()?.access_token, 'the provider holds a token');
  });
  const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider, fetch: observed });
  const client = new Client({ name: 'ts-oauth-interop', version: '1.0.0' });
  await step('connect with the token', async () => {
    await client.connect(transport);
  });
  await useServer(client);
  await client.close();
} else {
  fail('arguments', new Error(`unknown mode ${mode}`));
}

clearTimeout(watchdog);
await step('the flow went through 401 and then bearer requests', async () => {
  assert.ok(summary.unauthorized >= 1, 'the server answered 401 first');
  assert.ok(summary.bearerRequests >= 3, 'later requests carried the token');
});
console.log(JSON.stringify({ ...summary, ok: true }, null, 2));
