"""Calls get_bedrock_usage_report with the official Python SDK in both eras and prints the
structured reports as JSON: {"legacy": {...}, "modern": {...}, "progress": {...}}.

    .tools/venv/bin/python tests/interop/py_usage_report.py URL ARGUMENTS_JSON

The Rust test compares the numbers with values it computes from the dataset itself.
"""

from __future__ import annotations

import json
import sys

import anyio
from mcp import Client, ClientSession
from mcp.client.streamable_http import streamable_http_client

URL, ARGUMENTS = sys.argv[1], json.loads(sys.argv[2])


async def legacy() -> tuple[dict, int]:
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async with streamable_http_client(URL, terminate_on_close=True) as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=60) as session:
            init = await session.initialize()
            assert init.protocol_version == "2025-11-25", init.protocol_version
            tools = {t.name: t for t in (await session.list_tools()).tools}
            tool = tools["get_bedrock_usage_report"]
            assert tool.output_schema is not None, "no outputSchema"
            assert tool.annotations is not None and tool.annotations.read_only_hint, "not read-only"
            result = await session.call_tool(
                "get_bedrock_usage_report", ARGUMENTS, progress_callback=on_progress
            )
            assert not result.is_error, result
            return result.structured_content, len(progress)


async def modern() -> dict:
    async with Client(streamable_http_client(URL), mode="auto", read_timeout_seconds=60) as client:
        assert client.protocol_version == "2026-07-28", client.protocol_version
        result = await client.call_tool("get_bedrock_usage_report", ARGUMENTS)
        assert not result.is_error, result
        return result.structured_content


async def main() -> None:
    legacy_report, progress = await legacy()
    modern_report = await modern()
    print(json.dumps({"legacy": legacy_report, "modern": modern_report, "progress": progress}))


anyio.run(main)
