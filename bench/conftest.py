"""Shared set-up for the benchmark suites: bench/ modules import each other by name."""
