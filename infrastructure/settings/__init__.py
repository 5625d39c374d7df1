"""FluxRouter configuration: one YAML file, ``${VAR}`` expansion, ``FLUXROUTER_*`` overrides."""

from infrastructure.settings.loader import ConfigError, load_settings
from infrastructure.settings.model import Settings

__all__ = ["ConfigError", "Settings", "load_settings"]
