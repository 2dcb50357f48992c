"""Benchmarks: the progress write path against its baseline, and the locust scenarios."""
