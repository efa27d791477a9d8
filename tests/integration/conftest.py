"""Fixtures for the integration tests; the helpers live in serverkit.py (importable by name)."""

from serverkit import *  # noqa: F403 - re-export the fixtures so pytest finds them
