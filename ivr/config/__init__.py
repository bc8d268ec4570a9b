"""Configuration: YAML files parsed once into typed, frozen objects, with precise errors."""

from ivr.config.loader import ConfigSet, load_config
from ivr.config.problems import ConfigError, Problem

__all__ = ["ConfigError", "ConfigSet", "Problem", "load_config"]
