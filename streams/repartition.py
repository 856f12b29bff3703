"""The repartition topic: events and links on their way to another partition.

Two kinds of record travel on it, both keyed by the id of the entity they are
for, in the partition that owns that entity:

- a forwarded event: the original bytes of an input event that arrived on a
  partition other than its entity's, with the feed it came from;
- a link: what one entity tells another (:mod:`kpis.links`), encoded with
  msgpack.
"""

from __future__ import annotations

from typing import Final

import msgspec

from kpis.events import Feed
from kpis.links import DemoOfDeal, LeadOfDeal, LeadSnapshot, Link, WinOfAccount
from streams.errors import StreamsError

FORWARD_HEADER: Final = "salespulse.forward"
LINK_HEADER: Final = "salespulse.link"

_LINK_TYPES: Final[dict[str, type[Link]]] = {
    kind.__name__: kind for kind in (LeadSnapshot, LeadOfDeal, DemoOfDeal, WinOfAccount)
}
_ENCODER = msgspec.msgpack.Encoder()
_DECODERS: Final = {
    name: msgspec.msgpack.Decoder(kind) for name, kind in _LINK_TYPES.items()
}

Headers = list[tuple[str, bytes]]


class RepartitionError(StreamsError):
    """A record of the repartition topic that this engine did not write."""


def forwarded(feed: Feed) -> Headers:
    """Return the headers of an event forwarded from ``feed``."""
    return [(FORWARD_HEADER, feed.value.encode())]


def encode_link(link: Link) -> tuple[bytes, Headers]:
    """Return the value and headers of a link record."""
    return _ENCODER.encode(link), [(LINK_HEADER, type(link).__name__.encode())]


def decode_record(value: bytes, headers: Headers) -> Feed | Link:
    """Return the feed of a forwarded event, or the link a record carries."""
    for name, header in headers:
        if name == FORWARD_HEADER:
            return Feed(header.decode())
        if name == LINK_HEADER:
            decoder = _DECODERS.get(header.decode())
            if decoder is None:
                break
            try:
                link: Link = decoder.decode(value)
            except msgspec.DecodeError as error:
                raise RepartitionError(
                    f"undecodable {header!r} link: {error}"
                ) from error
            return link
    raise RepartitionError(f"a record with neither a known link nor a feed: {headers}")
