"""Helpers for tests (and benchmarks run from a checkout); never imported by the product."""
