"""Benchmarks: `python -m bench [name ...]` (see README). Each writes bench/results/<name>.json."""
