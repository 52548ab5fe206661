"""Fixtures shared by every test folder."""

from tests.emulators.conftest import emu, emulator  # noqa: F401 - re-exported fixtures
