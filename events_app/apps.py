"""Django app configuration for the event consumers."""

from django.apps import AppConfig


class EventsAppConfig(AppConfig):
    name = "events_app"
    verbose_name = "Event consumers"
