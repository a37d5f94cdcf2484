#!/usr/bin/env python3
"""The monthly AWS cost of a deployment, before and after issue 13 (python3, stdlib only).

    python3 bench/cost/model.py --hosts 50 --hours 8 --reports 20

prints a Markdown table: one row per cost line (Lambda requests and GB-seconds, API Gateway
requests, DynamoDB reads and writes, Logs Insights bytes scanned, data out), one pair of
columns per configuration. Quantities come from bench/cost/workload.json (per-operation
counts: DynamoDB reads and writes as tests/store_contract.rs pins them; Lambda CPU and wait
per operation as bench/lambda/memory.rs measured them), prices from bench/cost/prices.json.

- before: the function at 512 MB, and every connected host holds the standalone GET stream
  open (the official SDK clients open it after initialize and reopen it whenever it closes):
  one invocation per --max-stream-secs, billed for all of it, polling DynamoDB every
  --store-poll-ms.
- after: the function at --memory-mb (the Terraform default), and the standalone GET answered
  405 in one short invocation, which the SDK clients accept without retrying: an idle host
  costs nothing.

The README's "What it costs to run" table is this command's output; tests/cost_model.rs
checks that it still is.
"""

import argparse
import json
import math
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent


def load(name):
    with open(HERE / name, encoding="utf-8") as f:
        return json.load(f)


def duration_s(op, memory_mb, mb_per_vcpu, extra_wait_s=0.0):
    """Seconds one invocation of `op` lasts at `memory_mb`: its CPU time scaled to the vCPU
    share Lambda gives that memory, plus the time it waits (measured, plus `extra_wait_s`)."""
    share = min(memory_mb / mb_per_vcpu, 1.0)
    return op["cpu_ms"] / 1000.0 / share + op["wait_ms"] / 1000.0 + extra_wait_s


class Usage:
    """Monthly quantities of one configuration."""

    def __init__(self):
        self.lambda_requests = 0.0
        self.lambda_gb_s = 0.0
        self.api_requests = 0.0
        self.reads = 0.0
        self.writes = 0.0
        self.insights_gb = 0.0
        self.bytes_out = 0.0

    def invoke(self, count, seconds, memory_mb, answer_bytes, reads, writes):
        """`count` invocations of `seconds` each, every one an API Gateway request whose
        answer (streamed) is `answer_bytes` long."""
        self.lambda_requests += count
        self.lambda_gb_s += count * seconds * memory_mb / 1024.0
        # Each started 10 MB of a streamed answer is billed as one request.
        self.api_requests += count * max(1, math.ceil(answer_bytes / 10_000_000))
        self.reads += count * reads
        self.writes += count * writes
        self.bytes_out += count * answer_bytes


def month(args, workload, standalone_stream, memory_mb):
    """The usage of one month of `args.hosts` hosts."""
    lam = workload["lambda"]
    ops = lam["operations"]
    ddb = workload["dynamodb"]["operations"]
    per_vcpu = lam["mb_per_vcpu"]
    rtt = args.dynamodb_ms / 1000.0
    use = Usage()
    host_days = args.hosts * args.days
    connections = host_days * args.connections_per_day

    # Connecting: initialize, notifications/initialized, tools/list.
    for name in ("initialize", "notifications/initialized", "tools/list"):
        d = ddb[name]
        requests = d["reads"] + d["writes"]
        seconds = duration_s(ops[name], memory_mb, per_vcpu, requests * rtt)
        use.invoke(connections, seconds, memory_mb, ops[name]["answer_bytes"],
                   d["reads"], d["writes"])

    # The standalone GET stream.
    if standalone_stream:
        get = ddb["standalone GET"]
        polls = args.stream_secs * 1000.0 / args.poll_ms
        keep_alives = args.stream_secs // args.keep_alive_secs
        answer = lam["stream"]["opening_bytes"] + keep_alives * lam["stream"]["keep_alive_bytes"]
        # While connected, one stream after another, each closed at --max-stream-secs.
        streams = host_days * math.ceil(args.hours * 3600 / args.stream_secs)
        use.invoke(streams, args.stream_secs, memory_mb, answer,
                   get["reads"] + polls * get["reads_per_poll"], get["writes"])
    else:
        refused = ddb["standalone GET refused (405)"]
        op = ops["standalone GET refused (405)"]
        seconds = duration_s(op, memory_mb, per_vcpu, (refused["reads"] + refused["writes"]) * rtt)
        use.invoke(connections, seconds, memory_mb, op["answer_bytes"],
                   refused["reads"], refused["writes"])

    # Reports: answered as JSON; the call's cancellation checks read once a second after the
    # first 250 ms of the Logs Insights wait.
    call = ddb["tools/call answered as JSON"]
    report = ops["report"]
    reports = host_days * args.reports
    wait = args.insights_seconds
    reads = call["reads"] + call["reads_per_second_after_250ms"] * max(0, math.ceil(wait - 0.25))
    seconds = duration_s(report, memory_mb, per_vcpu, wait + reads * rtt)
    use.invoke(reports, seconds, memory_mb, report["answer_bytes"], reads, call["writes"])
    use.insights_gb += reports * args.insights_gb_per_report
    return use


def cost_lines(use, prices):
    """(line, unit price text, quantity text, dollars) for each cost line."""
    p = {k: v["usd"] for k, v in prices["prices"].items()}
    gb_out = use.bytes_out / 1e9
    return [
        ("Lambda requests", "$0.20 / 1M", use.lambda_requests, use.lambda_requests * p["lambda_request"]),
        ("Lambda duration, GB-s (arm64)", "$0.0000133334 / GB-s", use.lambda_gb_s,
         use.lambda_gb_s * p["lambda_arm64_gb_second"]),
        ("API Gateway REST requests (10 MB streamed = 1)", "$3.50 / 1M", use.api_requests,
         use.api_requests * p["api_gateway_rest_request"]),
        ("DynamoDB reads (RRU)", "$0.125 / 1M", use.reads, use.reads * p["dynamodb_read_request_unit"]),
        ("DynamoDB writes (WRU)", "$0.625 / 1M", use.writes, use.writes * p["dynamodb_write_request_unit"]),
        ("Logs Insights scanned, GB", "$0.005 / GB", use.insights_gb,
         use.insights_gb * p["logs_insights_gb_scanned"]),
        ("Data out (streamed answers), GB", "$0.09 / GB", gb_out, gb_out * p["data_transfer_out_gb"]),
    ]


def quantity(value):
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:,.1f}"
    return f"{value:.4f}"


def table(args, workload, prices):
    before = cost_lines(month(args, workload, True, args.memory_mb_before), prices)
    after = cost_lines(month(args, workload, False, args.memory_mb), prices)
    out = [
        f"{args.hosts} hosts connected {args.hours:g} h a day, {args.reports:g} reports a day each, "
        f"{args.days} days a month; Logs Insights {args.insights_seconds:g} s and "
        f"{args.insights_gb_per_report:g} GB a report; DynamoDB {args.dynamodb_ms:g} ms a request; "
        f"{prices['region']} list prices of {prices['checked']} (bench/cost/prices.json).",
        "",
        "| Cost line | Price | Before: quantity | Before: USD/month | After: quantity | After: USD/month |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for (line, price, q_before, usd_before), (_, _, q_after, usd_after) in zip(before, after):
        out.append(f"| {line} | {price} | {quantity(q_before)} | {usd_before:,.2f} | "
                   f"{quantity(q_after)} | {usd_after:,.2f} |")
    total_before = sum(line[3] for line in before)
    total_after = sum(line[3] for line in after)
    out.append(f"| **Total** | | | **{total_before:,.2f}** | | **{total_after:,.2f}** |")
    out.append("")
    out.append(f"Before: {args.memory_mb_before} MB, standalone GET streams held open "
               f"{args.stream_secs} s each, DynamoDB polled every {args.poll_ms} ms. "
               f"After: {args.memory_mb} MB, standalone GET answered 405.")
    return "\n".join(out)


def main(argv):
    workload = load("workload.json")
    prices = load("prices.json")
    defaults = workload["defaults"]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=50, help="MCP hosts (people) connected")
    parser.add_argument("--hours", type=float, default=8, help="hours a day each host is connected")
    parser.add_argument("--reports", type=float, default=20, help="report calls a day per host")
    parser.add_argument("--days", type=int, default=22,
                        help="days a month the hosts connect (default: 22 working days)")
    parser.add_argument("--connections-per-day", type=float, default=1,
                        help="sessions a host opens a day (initialize, initialized, tools/list)")
    parser.add_argument("--memory-mb", type=int, default=defaults["memory_mb"],
                        help="function memory after the change (the Terraform default)")
    parser.add_argument("--memory-mb-before", type=int, default=defaults["memory_mb_before"],
                        help="function memory before the change")
    parser.add_argument("--insights-seconds", type=float, default=defaults["insights_seconds"],
                        help="seconds a report waits for Logs Insights (see workload.json)")
    parser.add_argument("--insights-gb-per-report", type=float,
                        default=defaults["insights_gb_per_report"],
                        help="GB a report's queries scan (see workload.json)")
    parser.add_argument("--dynamodb-ms", type=float, default=defaults["dynamodb_ms"],
                        help="milliseconds a DynamoDB request adds to an invocation")
    parser.add_argument("--stream-secs", type=int, default=240, help="--max-stream-secs")
    parser.add_argument("--poll-ms", type=int, default=100, help="--store-poll-ms")
    parser.add_argument("--keep-alive-secs", type=int, default=15, help="--keep-alive-secs")
    args = parser.parse_args(argv)
    print(table(args, workload, prices))


if __name__ == "__main__":
    main(sys.argv[1:])
