"""What the stand-in proxies in front of moto share (bedrock_proxy.py, oauth_proxy.py): a quiet
request handler that answers with a body, forwards to moto, and a server on a free loopback
port that writes its port to a file once listening."""

import http.server
import os
import urllib.error
import urllib.request

# Hop-by-hop and per-connection headers the proxy sets itself.
SKIP_HEADERS = ("transfer-encoding", "connection", "content-length", "server", "date")


class Handler(http.server.BaseHTTPRequestHandler):
    upstream = ""

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in SKIP_HEADERS:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def upstream_call(self, body):
        """The same request sent to moto: (status, headers, body)."""
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        request = urllib.request.Request(self.upstream + self.path, data=body, method=self.command, headers=headers)
        try:
            resp = urllib.request.urlopen(request, timeout=60)
            return resp.status, resp.getheaders(), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.items(), e.read()


def serve(handler, upstream, port_file):
    """Serves handler (a Handler subclass) on 127.0.0.1, forwarding to upstream."""
    handler.upstream = upstream
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()
