"""Benchmark scripts (run them directly, see each docstring); not collected by pytest."""
