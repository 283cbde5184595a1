"""Benchmarks: synthetic archives at scale, and the archive measured against its peers (see `bench.run`)."""
