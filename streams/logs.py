"""Logging set-up of the command line, with a brake on repeated lines.

While the broker is down, aiokafka logs the same connection error thousands
of times a second; a worker's log should say it once in a while instead.
"""

from __future__ import annotations

import logging
import time

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RepeatFilter(logging.Filter):
    """Let one record of each message through per ``seconds``, then a count.

    Args:
        prefix: only records of loggers under this name are held back.
        seconds: how long a message is held back after it was logged.
    """

    def __init__(self, prefix: str, seconds: float = 10.0) -> None:
        super().__init__()
        self.prefix = prefix
        self.seconds = seconds
        self._last: dict[tuple[str, object], float] = {}
        self._dropped: dict[tuple[str, object], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """Tell whether ``record`` is logged; note how many were held back."""
        if not record.name.startswith(self.prefix):
            return True
        key = (record.name, record.msg)
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.seconds:
            self._dropped[key] = self._dropped.get(key, 0) + 1
            return False
        self._last[key] = now
        dropped = self._dropped.pop(key, 0)
        if dropped:
            record.msg = f"{record.msg} (and {dropped} more like it)"
        return True


def configure(level: str = "INFO") -> None:
    """Log to standard error, aiokafka's repeated lines held back."""
    logging.basicConfig(level=level, format=FORMAT)
    # On the handlers: a logger's own filters do not see its children's records.
    for handler in logging.getLogger().handlers:
        handler.addFilter(RepeatFilter("aiokafka"))
