"""The HTTP API: DRF views, serializers and the error envelope (SPEC §2)."""
