"""aifinops: open-source economic observability for AI.

The public API is the facade :class:`App` plus the record model; everything else is internal.
"""

from aifinops.app import App
from aifinops.client import record_outcome
from aifinops.core.errors import AifinopsError, ConfigError, InputError, NotFound
from aifinops.core.records import Outcome, UsageRecord, make_record_id
from aifinops.core.settings import Settings, load_settings
from aifinops.core.usage import TokenUsage

__version__ = "0.1.0"

__all__ = [
    "AifinopsError",
    "App",
    "ConfigError",
    "InputError",
    "NotFound",
    "Outcome",
    "Settings",
    "TokenUsage",
    "UsageRecord",
    "__version__",
    "load_settings",
    "make_record_id",
    "record_outcome",
]
