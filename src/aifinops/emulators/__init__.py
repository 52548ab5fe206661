"""Byte-faithful emulators of the OpenAI and Anthropic HTTP APIs, for tests and benchmarks.

One raw ASGI app serves both providers (``create_emulator``). Usage numbers are deterministic and can be set
per request with ``x-emulator-*`` headers or an ``[emulator key=value ...]`` directive in the last user message.
"""

from __future__ import annotations

from ._common import DEFAULT_MODELS, OVERRIDE_KEYS, EmulatorConfig
from ._io import Stats
from .app import EmulatorApp, create_emulator

__all__ = ["DEFAULT_MODELS", "OVERRIDE_KEYS", "EmulatorApp", "EmulatorConfig", "Stats", "create_emulator"]
