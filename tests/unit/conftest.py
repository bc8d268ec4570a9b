"""Shared fixtures for the config, interpreter, schedule and simulate unit tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ivr.config import ConfigError, ConfigSet, Problem
from ivr.config.plan import Plan
from ivr.testing.postgres import pg_schema
from ivr.validate import load_config

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "config"
MINIMAL = FIXTURES / "minimal"


@pytest.fixture(scope="session")
def shipped_config() -> ConfigSet:
    """The configuration shipped in the repository (dialplans/, routing_rules.yaml, agents/)."""
    return load_config([REPO])


@pytest.fixture(scope="session")
def main_plan(shipped_config: ConfigSet) -> Plan:
    return shipped_config.plans["main"]


@pytest.fixture
def config_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the minimal valid config tree; the test runs inside it, so problems name
    files relative to it (e.g. `dialplans/mini.yaml:12:11`)."""
    root = tmp_path / "cfg"
    shutil.copytree(MINIMAL, root)
    monkeypatch.chdir(root)
    return root


Break = Callable[[str, str, str], Path]


@pytest.fixture
def break_file(config_tree: Path) -> Break:
    """Replace `old` (which must occur exactly once) by `new` in one file of the copied tree."""

    def apply(relative: str, old: str, new: str) -> Path:
        path = config_tree / relative
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{old!r} must occur once in {relative}"
        path.write_text(text.replace(old, new), encoding="utf-8")
        return path

    return apply


@pytest.fixture
def problems_of(config_tree: Path) -> Callable[..., list[Problem]]:
    """The problems `load_config` raises for the copied tree (the test fails if it loads)."""

    def collect(*paths: str) -> list[Problem]:
        with pytest.raises(ConfigError) as caught:
            load_config(list(paths) or ["."])
        return list(caught.value.problems)

    return collect


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same tests on the embedded store and on the real PostgreSQL (a private schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ivr.db'}"
    else:
        with pg_schema() as url:
            yield url
