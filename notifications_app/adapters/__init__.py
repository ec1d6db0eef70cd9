"""Adapters of the notifications app: outbound HTTP and the stores it needs."""
