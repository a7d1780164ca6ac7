"""The JSON API (/api/v1, tiles, health): one router module per resource."""
