"""The root of the errors raised by the streaming engine and its adapters."""


class StreamsError(Exception):
    """Something the engine, its adapters or its command line cannot do."""
