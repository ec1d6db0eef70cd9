"""Notifications: signed webhooks and their deliveries (issue 14)."""
