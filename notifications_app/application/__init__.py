"""The notifications' use cases and the ports they need."""
