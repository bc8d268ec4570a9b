"""A whole config, loaded and checked: the parsers of `ivr.config` with the node kinds of `ivr.engine.nodes`
and the checks of every package that owns a part of the YAML.

It sits one floor above those packages so that `ivr.config` imports none of them; every caller
that loads a config for use (`ivr check`, the daemon, a reload) comes through here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ivr.callerid.checks import check_caller_id
from ivr.config import loader
from ivr.config.checks import check_config
from ivr.config.loader import Check, ConfigSet, LoadedFiles
from ivr.engine.nodes import NODE_KINDS
from ivr.queues.checks import check_queues
from ivr.recordings.checks import check_recordings

# Every check across files, in the order their problems used to be found.
CHECKS: tuple[Check, ...] = (check_config, check_caller_id, check_queues, check_recordings)


def load_config(paths: Sequence[str | Path] = (".",)) -> ConfigSet:
    """Parse and check everything; raise ConfigError listing every problem, or return the ConfigSet."""
    return loader.load_config(paths, node_kinds=NODE_KINDS, checks=CHECKS)


def parse_files(files: Sequence[Path]) -> LoadedFiles:
    """The files as parsed, before the checks across files."""
    return loader.parse_files(files, NODE_KINDS)


def parse_paths(paths: Sequence[str | Path]) -> LoadedFiles:
    """`parse_files` of the YAML files that `paths` name (files or folders)."""
    return parse_files(loader.discover(paths))
