"""The HTTP API (/api/v1, JSON) and the /ui page: records, states, explanations, admin actions."""
