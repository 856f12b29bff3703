"""Benchmarks of the domain, run as modules: ``python -m bench.replay``."""
