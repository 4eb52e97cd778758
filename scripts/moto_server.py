"""moto server with DynamoDB's write serialisation.

Real DynamoDB evaluates a conditional write or a transaction atomically:
of two concurrent `attribute_not_exists` puts on one key, exactly one wins.
moto's threaded server checks conditions and writes without a lock, so two
requests racing can both win. This launcher serialises DynamoDB requests
and the /moto-api state dumps that read the tables (only them: SQS long
polls and the rest stay concurrent), which makes
moto's conditional writes atomic the way DynamoDB's are. It also makes
moto's transaction rollback backups cheap (see cheap_transaction_backups).

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


def cheap_transaction_backups():
    """moto backs up every table a TransactWriteItems touches with
    copy.deepcopy before applying it, to roll back on a failed condition:
    O(table size) per request, over a second per transaction once a table
    holds a few thousand items (the benchmarks' burst). A transaction of
    Puts, Deletes and ConditionChecks only replaces or removes items, never
    changes one in place, so a copy of the table's item index is a complete
    backup: that is what is kept, and put back if the transaction fails (the
    table object itself stays: moto tracks every model instance it creates,
    so copies would never be freed). A transaction with an Update keeps the
    deep copy."""
    import copy
    from collections import defaultdict

    from moto.dynamodb import models as dynamodb_models
    from moto.dynamodb.models.table import Table

    real_deepcopy = copy.deepcopy
    state = threading.local()

    def item_index(table):
        index = defaultdict(dict)
        for key, value in table.items.items():
            index[key] = dict(value) if isinstance(value, dict) else value
        return index

    class CopyModule:
        def __getattr__(self, name):
            return getattr(copy, name)

        @staticmethod
        def deepcopy(obj, memo=None):
            backups = getattr(state, "backups", None)
            if backups is not None and isinstance(obj, Table):
                if all(table is not obj for table, _ in backups):
                    backups.append((obj, item_index(obj)))
                return obj
            return real_deepcopy(obj, memo)

    dynamodb_models.copy = CopyModule()
    original = dynamodb_models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):
        replace_only = all(
            next(iter(item), None) in ("Put", "Delete", "ConditionCheck") for item in transact_items
        )
        state.backups = [] if replace_only else None
        try:
            return original(self, transact_items)
        except Exception:
            for table, index in state.backups or []:
                table.items = index
            raise
        finally:
            state.backups = None

    dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items


class SerialiseDynamoDB:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        # /moto-api/data.json walks every backend's state, DynamoDB tables
        # included: unserialised, a concurrent write changes a dict it is
        # iterating and the dump fails with a 500.
        dumps_state = environ.get("PATH_INFO", "").startswith("/moto-api/")
        if not (target.startswith("DynamoDB_") or dumps_state):
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
    cheap_transaction_backups()
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
