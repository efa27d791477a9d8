"""update package."""
