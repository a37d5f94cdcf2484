"""Interoperability check: the official MCP Python SDK (`mcp` 2.3.0) client against our server.

    .tools/venv/bin/python tests/interop/py_client.py http://127.0.0.1:PORT/mcp

Leg 1 (legacy, session-based): `streamable_http_client` + `ClientSession` over an httpx2 client
whose event hooks record every HTTP exchange. initialize, list tools, call tools (plain,
progress, sampling, elicitation, reconnection), read a resource, get a prompt; leaving the
transport's context sends DELETE; a raw httpx2 request then checks the session answers 404.

Leg 2 (2026-07-28, stateless): the high-level `mcp.Client` in its default `mode="auto"` probes
`server/discover`, adopts the modern revision, and resolves an `input_required` result
(multi-round-trip elicitation) through the same callback; no session id may appear.

Each step asserts what the spec requires; the first failure prints a clear message and exits 1.
On success a JSON summary goes to stdout and the exit status is 0.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx2
import mcp.types as types
from mcp import Client, ClientSession
from mcp.client.session import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client

URL = sys.argv[1] if len(sys.argv) > 1 else None
SAMPLED_TEXT = "interop sampled answer"
ELICITED_TEXT = "interop elicited answer"
FIXTURE_TOOLS = [
    "test_simple_text",
    "test_tool_with_progress",
    "test_sampling",
    "test_elicitation",
    "test_reconnection",
    "test_input_required_result_elicitation",
]

summary: dict[str, Any] = {"sdk": None, "url": URL, "steps": []}


class StepFailed(Exception):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


async def step(name: str, fn: Callable[[], Awaitable[dict[str, Any] | None]]) -> dict[str, Any]:
    """Runs one named step; records its duration and details, or fails the script."""
    started = time.perf_counter()
    summary["currentStep"] = name
    try:
        details = await fn() or {}
    except Exception as error:  # noqa: BLE001 - any failure ends the run with a clear message
        summary["failedStep"] = name
        summary["error"] = f"{type(error).__name__}: {error}"
        print(f'FAILED at step "{name}":', file=sys.stderr)
        traceback.print_exc()
        raise StepFailed(name) from error
    summary["steps"].append({"step": name, "ms": round((time.perf_counter() - started) * 1000), **details})
    return details


def text_of(result: types.CallToolResult) -> str | None:
    return next((c.text for c in result.content if isinstance(c, types.TextContent)), None)


# ---------------------------------------------------------------------------------------------
# HTTP observation: an httpx2 client whose hooks log every request the SDK makes (method,
# JSON-RPC method, Last-Event-ID, session id) and every status, so steps can check the wire.
# ---------------------------------------------------------------------------------------------


class HttpLog:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    async def on_request(self, request: httpx2.Request) -> None:
        rpc = None
        if request.method == "POST":
            try:
                body = json.loads(request.content)
                rpc = body.get("method") or f"response {body.get('id')}"
                if body.get("params", {}).get("name"):
                    rpc += f" {body['params']['name']}"
            except (ValueError, AttributeError):
                rpc = "unparsable"
        request.extensions["interop_log"] = entry = {
            "method": request.method,
            "rpc": rpc,
            "lastEventId": request.headers.get("last-event-id"),
            "sessionId": request.headers.get("mcp-session-id"),
            "protocolVersion": request.headers.get("mcp-protocol-version"),
            "status": None,
        }
        self.entries.append(entry)

    async def on_response(self, response: httpx2.Response) -> None:
        entry = response.request.extensions.get("interop_log")
        if entry is not None:
            entry["status"] = response.status_code
            entry["responseSessionId"] = response.headers.get("mcp-session-id")

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            timeout=httpx2.Timeout(30.0, read=300.0),
            event_hooks={"request": [self.on_request], "response": [self.on_response]},
        )

    def lines(self) -> list[str]:
        return [
            f"{e['method']} {e['rpc'] or ''}"
            + (f" Last-Event-ID={e['lastEventId']}" if e["lastEventId"] else "")
            + f" -> {e['status']}"
            for e in self.entries
        ]


# ---------------------------------------------------------------------------------------------
# Client-side handlers for server-initiated requests.
# ---------------------------------------------------------------------------------------------

sampling_calls: list[types.CreateMessageRequestParams] = []
elicitation_calls: list[Any] = []


async def sampling_callback(
    context: ClientRequestContext, params: types.CreateMessageRequestParams
) -> types.CreateMessageResult:
    """The "LLM": answers every sampling/createMessage with a fixed text."""
    sampling_calls.append(params)
    return types.CreateMessageResult(
        role="assistant",
        content=types.TextContent(type="text", text=SAMPLED_TEXT),
        model="interop-test-model",
        stop_reason="endTurn",
    )


async def elicitation_callback(context: ClientRequestContext, params: Any) -> types.ElicitResult:
    """The "user": accepts every form, filling each string field it is asked for."""
    elicitation_calls.append(params)
    properties = (params.requested_schema or {}).get("properties", {})
    content = {name: ELICITED_TEXT for name, spec in properties.items() if spec.get("type") == "string"}
    return types.ElicitResult(action="accept", content=content)


# ---------------------------------------------------------------------------------------------
# Leg 1: a legacy session.
# ---------------------------------------------------------------------------------------------


async def legacy_leg(url: str) -> None:
    log = HttpLog()
    session_id: str | None = None
    async with log.client() as http:
        async with streamable_http_client(url, http_client=http, terminate_on_close=True) as (read, write):
            async with ClientSession(
                read,
                write,
                sampling_callback=sampling_callback,
                elicitation_callback=elicitation_callback,
                client_info=types.Implementation(name="interop-py-client", version="1.0.0"),
                read_timeout_seconds=30,
            ) as session:

                # 1. initialize: handshake at the SDK's latest handshake version; the server names
                #    the session in Mcp-Session-Id, and the SDK accepts our InitializeResult.
                async def initialize() -> dict[str, Any]:
                    nonlocal session_id
                    result = await session.initialize()
                    check(result.protocol_version == "2025-11-25", f"negotiated {result.protocol_version}")
                    check(result.server_info.name == "mcp-conformance-test-server", "server name")
                    check(result.capabilities.tools is not None, "no tools capability")
                    session_id = next((e["responseSessionId"] for e in log.entries if e["rpc"] == "initialize"), None)
                    check(bool(session_id), "the server sent no Mcp-Session-Id on initialize")
                    return {"protocolVersion": result.protocol_version, "sessionId": session_id}

                await step("initialize", initialize)

                # 2. tools/list includes the fixture tools.
                async def list_tools() -> dict[str, Any]:
                    names = [t.name for t in (await session.list_tools()).tools]
                    missing = [t for t in FIXTURE_TOOLS if t not in names]
                    check(not missing, f"tools/list lacks {missing}")
                    return {"tools": len(names)}

                await step("tools/list", list_tools)

                # 3. A plain tool call.
                async def simple_text() -> dict[str, Any]:
                    result = await session.call_tool("test_simple_text", {})
                    check(not result.is_error and bool(text_of(result)), f"bad result {result}")
                    return {"text": text_of(result)}

                await step("tools/call test_simple_text", simple_text)

                # 4. Progress: the SDK adds a progressToken; the server's three
                #    notifications/progress reach the callback in increasing order, before the result.
                async def progress() -> dict[str, Any]:
                    events: list[tuple[float, float | None, str | None]] = []

                    async def on_progress(value: float, total: float | None, message: str | None) -> None:
                        events.append((value, total, message))

                    result = await session.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
                    seen_at_result = len(events)
                    await anyio.sleep(0.2)  # anything arriving after the result would show up now
                    check(len(events) >= 3, f"expected >= 3 progress notifications, got {events}")
                    check(len(events) == seen_at_result, "a progress notification arrived after the result")
                    values = [e[0] for e in events]
                    check(all(b > a for a, b in zip(values, values[1:])), f"progress did not increase: {values}")
                    check(bool(text_of(result)), "the tool should answer with the progress token")
                    return {"progress": values, "token": text_of(result)}

                await step("tools/call test_tool_with_progress (progress_callback)", progress)

                # 5. Sampling round trip: the request arrives on the POST stream, the answer goes
                #    back in its own POST, and comes out in the tool's result.
                async def sampling() -> dict[str, Any]:
                    result = await session.call_tool("test_sampling", {"prompt": "Say hi"})
                    check(len(sampling_calls) == 1, f"sampling callback called {len(sampling_calls)} times")
                    check(text_of(result) == f"LLM response: {SAMPLED_TEXT}", f"result {text_of(result)!r}")
                    return {"text": text_of(result)}

                await step("tools/call test_sampling", sampling)

                # 6. Elicitation round trip (form mode, accepted).
                async def elicitation() -> dict[str, Any]:
                    result = await session.call_tool("test_elicitation", {"message": "Your name?"})
                    check(len(elicitation_calls) == 1, f"elicitation callback called {len(elicitation_calls)} times")
                    check(elicitation_calls[0].message == "Your name?", "the message did not reach the client")
                    expected = f"User response: action=accept, content={json.dumps({'response': ELICITED_TEXT}, separators=(',', ':'))}"
                    check(text_of(result) == expected, f"result {text_of(result)!r}, expected {expected!r}")
                    return {"text": text_of(result)}

                await step("tools/call test_elicitation", elicitation)

                # 7. resources/read and prompts/get.
                async def resource_and_prompt() -> dict[str, Any]:
                    read_result = await session.read_resource("test://static-text")
                    content = read_result.contents[0]
                    check(getattr(content, "text", None) == "This is the content of the static text resource.", f"{content}")
                    prompt = await session.get_prompt("test_prompt_with_arguments", {"arg1": "one", "arg2": "two"})
                    text = prompt.messages[0].content.text
                    check(text == "Prompt with arguments: arg1='one', arg2='two'", f"prompt text {text!r}")
                    return {"resource": content.text, "prompt": text}

                await step("resources/read + prompts/get", resource_and_prompt)

                # 8. Resumption (SEP-1699): the server closes the POST stream after its priming
                #    event; the SDK must reconnect with GET + Last-Event-ID and get the result
                #    there, without re-sending the request.
                async def reconnection() -> dict[str, Any]:
                    before = len(log.entries)
                    result = await session.call_tool("test_reconnection", {})
                    check((text_of(result) or "").startswith("Reconnection test completed"), f"{text_of(result)!r}")
                    traffic = log.entries[before:]
                    posts = [e for e in traffic if e["rpc"] == "tools/call test_reconnection"]
                    check(len(posts) == 1, f"the request was POSTed {len(posts)} times")
                    resumes = [e for e in traffic if e["method"] == "GET" and e["lastEventId"]]
                    check(bool(resumes), f"no GET with Last-Event-ID: {traffic}")
                    check(all(e["status"] == 200 for e in resumes), f"a resumption GET was refused: {resumes}")
                    return {"resumedWith": [e["lastEventId"] for e in resumes]}

                await step("tools/call test_reconnection (SDK resumes with Last-Event-ID)", reconnection)

        # 9. Leaving streamable_http_client's context (terminate_on_close=True) sent DELETE; the
        #    server MUST now answer requests naming that session with 404 Not Found.
        async def terminated() -> dict[str, Any]:
            deletes = [e for e in log.entries if e["method"] == "DELETE"]
            check(len(deletes) == 1, f"the SDK sent {len(deletes)} DELETE requests")
            check(deletes[0]["status"] == 200, f"DELETE answered {deletes[0]['status']}")
            check(deletes[0]["sessionId"] == session_id, "DELETE named another session")
            async with httpx2.AsyncClient(timeout=10) as raw:
                response = await raw.post(
                    url,
                    headers={
                        "mcp-session-id": session_id or "",
                        "mcp-protocol-version": "2025-11-25",
                        "content-type": "application/json",
                        "accept": "application/json, text/event-stream",
                    },
                    json={"jsonrpc": "2.0", "id": "after-delete", "method": "tools/list"},
                )
            check(response.status_code == 404, f"POST on the ended session answered {response.status_code}: {response.text}")
            return {"deleteStatus": deletes[0]["status"], "postAfterDelete": response.status_code}

        await step("session ended (DELETE on exit), then 404", terminated)
    summary["legacyHttp"] = log.lines()


# ---------------------------------------------------------------------------------------------
# Leg 2: the stateless 2026-07-28 revision through the high-level Client.
# ---------------------------------------------------------------------------------------------


async def modern_leg(url: str) -> None:
    log = HttpLog()
    elicitations_before = len(elicitation_calls)
    async with log.client() as http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(
            transport,
            mode="auto",
            elicitation_callback=elicitation_callback,
            sampling_callback=sampling_callback,
            read_timeout_seconds=30,
        ) as client:

            # 10. Discovery: mode="auto" probes server/discover and adopts 2026-07-28.
            async def discover() -> dict[str, Any]:
                check(client.protocol_version == "2026-07-28", f"negotiated {client.protocol_version}")
                return {"protocolVersion": client.protocol_version}

            await step("2026-07-28: server/discover", discover)

            # 11. Plain call and a progress call, per-request (no session).
            async def calls() -> dict[str, Any]:
                names = [t.name for t in (await client.list_tools()).tools]
                check("test_simple_text" in names, "tools/list lacks test_simple_text")
                result = await client.call_tool("test_simple_text", {})
                check(bool(text_of(result)), f"bad result {result}")
                events: list[float] = []

                async def on_progress(value: float, total: float | None, message: str | None) -> None:
                    events.append(value)

                await client.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
                check(len(events) >= 3, f"expected >= 3 progress notifications, got {events}")
                check(all(b > a for a, b in zip(events, events[1:])), f"progress did not increase: {events}")
                return {"progress": events}

            await step("2026-07-28: tools/list, tools/call, progress", calls)

            # 12. Multi-round-trip: the tool answers input_required with an elicitation; the
            #     Client runs the callback and retries with inputResponses.
            async def mrtr() -> dict[str, Any]:
                result = await client.call_tool("test_input_required_result_elicitation", {})
                check(len(elicitation_calls) == elicitations_before + 1, "the elicitation callback was not used")
                check(not result.is_error, f"tool error: {text_of(result)}")
                check(text_of(result) == f"Hello, {ELICITED_TEXT}!", f"result {text_of(result)!r}")
                rounds = [e for e in log.entries if e["rpc"] == "tools/call test_input_required_result_elicitation"]
                check(len(rounds) == 2, f"expected 2 rounds (input_required, then the answer), got {len(rounds)}")
                return {"text": text_of(result), "rounds": len(rounds)}

            await step("2026-07-28: input_required round trip", mrtr)

    # 13. Stateless: no request of this leg carried or received a session id, and none was a GET.
    async def stateless() -> dict[str, Any]:
        check(all(not e["sessionId"] and not e.get("responseSessionId") for e in log.entries), f"{log.entries}")
        check(all(e["method"] == "POST" for e in log.entries), f"non-POST requests: {log.lines()}")
        return {"requests": len(log.entries)}

    await step("2026-07-28: no session, POST only", stateless)
    summary["modernHttp"] = log.lines()


def contains(error: BaseException, kind: type[BaseException]) -> bool:
    """Whether `error` is a `kind`, or an exception group holding one."""
    if isinstance(error, kind):
        return True
    if isinstance(error, BaseExceptionGroup):
        return any(contains(inner, kind) for inner in error.exceptions)
    return False


async def main() -> int:
    if not URL:
        print("usage: py_client.py <server url>", file=sys.stderr)
        return 2
    from importlib.metadata import version

    summary["sdk"] = f"mcp {version('mcp')}"
    try:
        with anyio.fail_after(90):  # nothing here may hang the Rust test running this script
            await legacy_leg(URL)
            await modern_leg(URL)
    except BaseException as error:  # noqa: BLE001 - report whatever ended the run
        # A failed step was already reported by step(); the SDK's task groups may wrap it.
        if not contains(error, StepFailed):
            print(f'FAILED during step "{summary.get("currentStep")}":', file=sys.stderr)
            traceback.print_exc()
            summary["failedStep"] = summary.get("currentStep")
            summary["error"] = f"{type(error).__name__}: {error}"
        print(json.dumps({**summary, "ok": False}, indent=2))
        return 1
    del summary["currentStep"]
    print(json.dumps({**summary, "ok": True}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(anyio.run(main))
