"""Upward filing (逐级报批): signed packages and receipts between the levels of government."""
