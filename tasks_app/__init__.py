"""Tasks: the domain, its services, the adapters to AWS and the HTTP API."""
