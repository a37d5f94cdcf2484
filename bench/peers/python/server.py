"""The Python SDK peer of the benchmark: `mcp`'s MCPServer streamable HTTP app under uvicorn.

    python server.py --port PORT [--stateless]

Without --stateless: the SDK's default app, legacy sessions (a transport per session) plus
its 2026-07-28 entry, chosen by the MCP-Protocol-Version header. With --stateless:
`stateless_http=True` (a new transport per request for legacy versions).
Tools, as on every peer: test_simple_text (one line) and test_long_operation (`steps`
progress notifications, no sleeps, then a one-line result). Binds 127.0.0.1 only.
"""

import argparse

import uvicorn
from mcp.server.mcpserver import Context, MCPServer

mcp = MCPServer("python-peer")


@mcp.tool(description="Tests simple text content response")
def test_simple_text() -> str:
    return "This is a simple text response for testing."


@mcp.tool(description="Sends `steps` progress notifications, then answers")
async def test_long_operation(ctx: Context, steps: int = 100, interval_ms: int = 0) -> str:
    for step in range(1, steps + 1):
        await ctx.report_progress(step, steps, f"step {step} of {steps}")
    return f"completed {steps} steps"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stateless", action="store_true")
    args = parser.parse_args()
    app = mcp.streamable_http_app(stateless_http=args.stateless)
    print(f"listening on http://127.0.0.1:{args.port}/mcp", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
