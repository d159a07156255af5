"""Benchmarks (run as modules, e.g. `python -m benchmarks.step_latency --quick`); not part of the tests."""
