"""A Faust agent as a user would write it: one table update per deal event.

Run as ``python -m bench.faust_agent BROKER TOPIC APP_ID EVENTS DATADIR``. It
counts the deals topic's events per rep in a Table (``store="memory://"``)
and, once it has seen EVENTS events, writes its rate from its first event to
DATADIR/result.json, then exits at once.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import faust

from kpis.events import decode_event


def build(
    broker: str, topic_name: str, app_id: str, events: int, datadir: str
) -> faust.App:
    """Return the app, its topic, table and counting agent."""
    app = faust.App(
        app_id,
        broker=f"kafka://{broker}",
        store="memory://",
        datadir=datadir,
        topic_partitions=8,
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
    )
    topic = app.topic(topic_name, value_serializer="raw", key_serializer="raw")
    per_rep = app.Table("deals_per_rep", default=int, partitions=8)
    progress = {"count": 0, "first": 0.0}

    @app.agent(topic)
    async def count_deals(stream: faust.StreamT[bytes]) -> None:
        async for value in stream:
            if not progress["count"]:
                progress["first"] = time.perf_counter()
            event = decode_event(value)
            per_rep[getattr(event.data, "rep_id", "unassigned")] += 1
            progress["count"] += 1
            if progress["count"] >= events:
                seconds = time.perf_counter() - progress["first"]
                result = {"events_per_second": events / seconds}
                Path(datadir, "result.json").write_text(json.dumps(result))
                os._exit(0)

    return app


def main() -> None:
    """Run the agent until it has counted the events asked for."""
    broker, topic_name, app_id, events, datadir = sys.argv[1:6]
    app = build(broker, topic_name, app_id, int(events), datadir)
    worker = faust.Worker(app, loglevel="WARNING", quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
