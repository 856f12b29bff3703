"""The SalesPulse streaming engine: the Faust app and its adapters."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("salespulse")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
