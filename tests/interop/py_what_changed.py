"""The Python SDK client against bedrock-usage-mcp serving the bundled sample: a report grouped
by team, compared with the previous period and with anomalies, must flag the sample's planted
spike (the support agent, the day before today), and the review prompt must carry both
sections. Exits 0 on success and prints what it saw (one anomaly per line)."""

from __future__ import annotations

import sys

import anyio
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

SUPPORT = "arn:aws:sts::111122223333:assumed-role/SupportAgentRole/support-agent"


async def main(url: str) -> None:
    async with streamable_http_client(url) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            result = await session.call_tool(
                "get_bedrock_usage_report",
                {"days": 7, "group_by_metadata": ["team"], "compare_to": "previous_period", "anomalies": True},
            )
            assert not result.is_error, result.content
            report = result.structured_content
            assert report["compare_to"]["kind"] == "previous_period", report["compare_to"]
            for row in report["by_metadata"][0]["rows"]:
                assert "previous" in row and "change" in row, row
            items = report["anomalies"]["items"]
            for item in items:
                print(item["day"], item["dimension"], item["key"], item["metric"], item["value"], item["threshold"])
            flagged = {(i["dimension"], i["key"], i["metric"]) for i in items}
            for wanted in [("user", SUPPORT, "total_tokens"), ("user", SUPPORT, "errors"),
                           ("metadata", "support", "total_tokens")]:
                assert wanted in flagged, f"{wanted} not flagged"
            text = result.content[0].text
            assert "\nAnomalies\n" in text and "\nCompared with the previous period, " in text
            prompt = await session.get_prompt("review_bedrock_usage", {"days": "7"})
            review = prompt.messages[2].content.text
            assert "\nAnomalies\n" in review and "support-agent" in review
            print("prompt: comparison and anomalies present")


anyio.run(main, sys.argv[1])
