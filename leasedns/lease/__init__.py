"""lease package."""
