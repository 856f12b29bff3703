"""The root of the errors raised by the KPI domain."""


class KpiError(Exception):
    """Something the KPI domain cannot accept or compute."""
