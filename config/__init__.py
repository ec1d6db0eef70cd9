"""The Django project: settings, URLs, logging and the WSGI entry point."""
