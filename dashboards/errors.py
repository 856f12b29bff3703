"""The root of the errors raised while generating dashboards and rules."""


class DashboardsError(Exception):
    """The dashboards, rules or provisioning files cannot be generated."""
