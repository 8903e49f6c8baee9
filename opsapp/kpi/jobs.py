"""Scheduled jobs of the monitoring (being written)."""
