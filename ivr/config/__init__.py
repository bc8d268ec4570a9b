"""Configuration: YAML files parsed once into typed, frozen objects, with precise errors.

Load a whole config with `ivr.validate.load_config`, which adds the node kinds and every package's checks."""

from ivr.config.loader import ConfigSet
from ivr.config.problems import ConfigError, Problem

__all__ = ["ConfigError", "ConfigSet", "Problem"]
