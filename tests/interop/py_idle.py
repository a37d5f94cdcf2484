"""An idle host: the official MCP Python SDK client (`mcp` 2.3.0) connects and then does
nothing, as a host does between its user's questions. Driven by tests/idle_host.rs:

    .tools/venv/bin/python tests/interop/py_idle.py http://127.0.0.1:PORT/prod/mcp

Initializes a legacy session through `streamable_http_client` + `ClientSession` (the transport
opens the standalone GET stream on its own after `notifications/initialized`), prints
`{"ready": true}`, then waits for a line on stdin (the test idles meanwhile and counts what the
server does). Then lists tools (the session still works after the idle spell) and prints a JSON
summary with every HTTP request the SDK made and its status. Exits 1 on any failure.
"""

from __future__ import annotations

import json
import sys
import traceback
from typing import Any

import anyio
import httpx2
import mcp.types as types
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

requests: list[dict[str, Any]] = []


async def on_request(request: httpx2.Request) -> None:
    rpc = None
    if request.method == "POST":
        try:
            rpc = json.loads(request.content).get("method")
        except (ValueError, AttributeError):
            rpc = "unparsable"
    entry = {"method": request.method, "rpc": rpc, "lastEventId": request.headers.get("last-event-id")}
    request.extensions["idle_log"] = entry
    requests.append(entry)


async def on_response(response: httpx2.Response) -> None:
    entry = response.request.extensions.get("idle_log")
    if entry is not None:
        entry["status"] = response.status_code


async def main(url: str) -> dict[str, Any]:
    hooks = {"request": [on_request], "response": [on_response]}
    async with httpx2.AsyncClient(timeout=httpx2.Timeout(30.0, read=300.0), event_hooks=hooks) as http:
        async with streamable_http_client(url, http_client=http, terminate_on_close=False) as (read, write):
            async with ClientSession(
                read,
                write,
                client_info=types.Implementation(name="idle-host", version="1.0.0"),
                read_timeout_seconds=30,
            ) as session:
                result = await session.initialize()
                print(json.dumps({"ready": True}), flush=True)
                await anyio.to_thread.run_sync(sys.stdin.readline)
                tools = await session.list_tools()
                capabilities = result.capabilities.model_dump(exclude_none=True)
                return {"ok": True, "tools": len(tools.tools), "capabilities": capabilities}


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print("usage: py_idle.py <server url>", file=sys.stderr)
        sys.exit(2)
    try:
        summary = anyio.run(main, sys.argv[1])
    except Exception as error:  # noqa: BLE001 - any failure fails the test, with its trace
        traceback.print_exc()
        print(json.dumps({"ok": False, "error": str(error), "requests": requests}))
        sys.exit(1)
    print(json.dumps({**summary, "requests": requests}))
