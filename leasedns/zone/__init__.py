"""zone package."""
