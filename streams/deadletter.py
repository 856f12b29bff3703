"""What a rejected message carries to the dead-letter topic.

The value and key are the original bytes, untouched, so that a fixed sender
or a replay can use them again. Headers say why the message was rejected and
where it came from; the original headers follow.
"""

from __future__ import annotations

from collections.abc import Sequence

from kpis.events import InvalidEvent

REASON_HEADER = "salespulse.reason"
DETAIL_HEADER = "salespulse.detail"
TOPIC_HEADER = "salespulse.topic"
PARTITION_HEADER = "salespulse.partition"
OFFSET_HEADER = "salespulse.offset"

# Kafka headers have no size limit of their own, but a whole message does.
MAX_DETAIL_BYTES = 1024


def deadletter_headers(
    error: InvalidEvent,
    topic: str,
    partition: int,
    offset: int,
    original: Sequence[tuple[str, bytes]] = (),
) -> list[tuple[str, bytes]]:
    """Return the headers of the dead-letter copy of a rejected message."""
    detail = error.detail.encode("utf-8", "replace")[:MAX_DETAIL_BYTES]
    return [
        (REASON_HEADER, error.reason.value.encode()),
        (DETAIL_HEADER, detail),
        (TOPIC_HEADER, topic.encode()),
        (PARTITION_HEADER, str(partition).encode()),
        (OFFSET_HEADER, str(offset).encode()),
        *original,
    ]
