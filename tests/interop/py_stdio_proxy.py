"""The official MCP Python SDK's stdio client drives `mcp-client proxy`, as a stdio host would.

    .tools/venv/bin/python tests/interop/py_stdio_proxy.py MCP_CLIENT URL [PROXY ARGS...]

It spawns `MCP_CLIENT --url URL [PROXY ARGS...] proxy`, initializes, lists tools, calls a
tool with progress, calls a tool that elicits (a server-to-client request through the proxy
and back), pings, and closes stdin. A JSON summary goes to stdout; any failure exits 1.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import anyio
import mcp.types as types
from mcp import ClientSession, StdioServerParameters
from mcp.client.session import ClientRequestContext
from mcp.client.stdio import stdio_client

MCP_CLIENT, URL, *PROXY_ARGS = sys.argv[1:]
ELICITED = "proxied answer"
elicitations: list[Any] = []


async def on_elicitation(context: ClientRequestContext, params: Any) -> types.ElicitResult:
    elicitations.append(params)
    properties = (params.requested_schema or {}).get("properties", {})
    return types.ElicitResult(action="accept", content={name: ELICITED for name in properties})


def text_of(result: types.CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, types.TextContent))


async def main() -> dict[str, Any]:
    # As a host's configuration would, hand the proxy the AWS settings (the SDK passes only a
    # few variables such as PATH and HOME on by itself).
    aws = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    params = StdioServerParameters(command=MCP_CLIENT, args=["--url", URL, *PROXY_ARGS, "proxy"], env=aws)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=60, elicitation_callback=on_elicitation) as session:
            init = await session.initialize()
            tools = await session.list_tools()
            progress: list[float] = []

            async def on_progress(value: float, total: float | None, message: str | None) -> None:
                progress.append(value)

            with_progress = await session.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
            elicited = await session.call_tool("test_elicitation", {"message": "Your name?"})
            await session.send_ping()
            return {
                "server": init.server_info.name,
                "protocol": init.protocol_version,
                "tools": sorted(t.name for t in tools.tools),
                "progress": progress,
                "progress_error": with_progress.is_error,
                "elicitations": len(elicitations),
                "elicited": text_of(elicited),
            }


try:
    print(json.dumps(anyio.run(main)))
except Exception as e:  # noqa: BLE001 - report any failure to the Rust test
    print(f"FAILED: {e!r}", file=sys.stderr)
    sys.exit(1)
