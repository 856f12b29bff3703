"""Failure tests of the live engine: each ends equal to the batch replay."""
