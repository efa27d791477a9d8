"""xfr package."""
