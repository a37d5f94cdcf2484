"""A proxy in front of moto for Bedrock: it refuses the first FAIL_FIRST
PutModelInvocationLoggingConfiguration calls as Bedrock does while a new role has not propagated
("Failed to validate permissions for log group"), forwards everything else, and answers
GET /__proxy/stats with its counters (read by probe/probe.py).
Usage: bedrock_proxy.py UPSTREAM FAIL_FIRST PORT_FILE (writes its port there once listening).
"""

import json
import sys

from standin import Handler, serve

upstream, fail_first, port_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
stats = {"put": 0, "refused": 0}


class Proxy(Handler):
    def forward(self):
        if self.path == "/__proxy/stats":
            return self.reply(200, json.dumps(stats).encode(), [("Content-Type", "application/json")])
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if self.command == "PUT" and self.path.startswith("/logging/modelinvocations"):
            stats["put"] += 1
            if stats["put"] <= fail_first:
                stats["refused"] += 1
                msg = {"message": "Failed to validate permissions for log group: /aws/bedrock/modelinvocations, with role: arn:aws:iam::123456789012:role/new. Verify the IAM role permissions are correct."}
                return self.reply(400, json.dumps(msg).encode(), [("x-amzn-ErrorType", "ValidationException"), ("Content-Type", "application/json")])
        status, headers, data = self.upstream_call(body)
        self.reply(status, data, headers)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward


serve(Proxy, upstream, port_file)
