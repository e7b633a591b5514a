"""growthloop: a self-hosted platform for internet operations (网络运营)."""

from growthloop.config import Settings, load_settings
from growthloop.workspace import Workspace

__version__ = "0.1.0"
__all__ = ["Settings", "Workspace", "__version__", "load_settings"]
