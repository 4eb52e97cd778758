"""moto server with DynamoDB's write serialisation.

Real DynamoDB evaluates a conditional write or a transaction atomically:
of two concurrent `attribute_not_exists` puts on one key, exactly one wins.
moto's threaded server checks conditions and writes without a lock, so two
requests racing can both win. This launcher serialises DynamoDB requests
(only them: SQS long polls and the rest stay concurrent), which makes
moto's conditional writes atomic the way DynamoDB's are.

usage: python scripts/moto_server.py [-H 127.0.0.1] [-p 5000]
"""

import argparse
import os
import signal
import sys
import threading

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


class SerialiseDynamoDB:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with self.lock:
            # Consume the response inside the lock: the write happens while handling.
            return list(self.app(environ, start_response))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        SerialiseDynamoDB(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
