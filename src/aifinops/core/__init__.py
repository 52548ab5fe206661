"""Shared primitives: records, money, usage, errors and settings. Imports nothing else from aifinops."""
