"""Test doubles of the wire protocols, shared by the tests and the benchmarks."""
