"""Benchmarks: ``python -m bench.dialer [--quick]`` (figures in BENCHMARKS.md)."""
