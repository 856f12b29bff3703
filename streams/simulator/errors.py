"""The errors of the simulator."""

from streams.errors import StreamsError


class SimulatorError(StreamsError):
    """The simulator cannot run with the options or the sink it was given."""
