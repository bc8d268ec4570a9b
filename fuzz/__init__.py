"""Fuzz targets for everything the daemon reads from the wire or from callers (docs/reliability.md).

`python -m fuzz.run --seconds 60` fuzzes every target with atheris (`pip install -e '.[fuzz]'`);
tests/unit/test_fuzz_targets.py runs them for a few seconds in CI.
"""
