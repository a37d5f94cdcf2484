"""moto_server, answering one request at a time.

Usage: python3 moto_serial.py PORT

`moto_server` runs werkzeug's threaded server: two requests that arrive together run together,
so a conditional write (`ConditionExpression`) is checked and applied in two steps another
request can fall between. DynamoDB applies each conditional write atomically. Tests that race
two writers on one item would then fail on moto although the code is right. This launcher serves
the same moto application, still one thread per connection (keep-alive connections of the AWS
SDK do not block each other), but holds one lock around each request from its first byte read to
its last byte written, so every request is atomic, as DynamoDB's single-item writes are.
It binds 127.0.0.1 only.
"""

import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def serialised(app):
    lock = threading.Lock()

    def one_at_a_time(environ, start_response):
        with lock:
            # The whole body is produced inside the lock: a lazily generated response would
            # otherwise be computed after the lock is released.
            return list(app(environ, start_response))

    return one_at_a_time


def main():
    port = int(sys.argv[1])
    # moto builds some URLs (queue URLs, presigned links) from this, as moto_server does.
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, serialised(app), threaded=True)


if __name__ == "__main__":
    main()
