"""A proxy in front of moto for Bedrock: it refuses the first FAIL_FIRST
PutModelInvocationLoggingConfiguration calls as Bedrock does while a new role has not propagated
("Failed to validate permissions for log group"), forwards everything else, and answers
GET /__proxy/stats with its counters (read by probe/probe.py).
Usage: bedrock_proxy.py UPSTREAM FAIL_FIRST PORT_FILE (writes its port there once listening).
"""

import http.server
import json
import os
import sys
import urllib.error
import urllib.request

upstream, fail_first, port_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
stats = {"put": 0, "refused": 0}


class Proxy(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

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
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        try:
            resp = urllib.request.urlopen(urllib.request.Request(upstream + self.path, data=body, method=self.command, headers=headers), timeout=30)
            status, out_headers, data = resp.status, resp.getheaders(), resp.read()
        except urllib.error.HTTPError as e:
            status, out_headers, data = e.code, e.headers.items(), e.read()
        skip = ("transfer-encoding", "connection", "content-length", "server", "date")
        self.reply(status, data, [(k, v) for k, v in out_headers if k.lower() not in skip])

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
