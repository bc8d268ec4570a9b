"""Benchmarks of the IVR daemon against its floors (see BENCHMARKS.md); run them with `bench/run`."""
