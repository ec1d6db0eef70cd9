"""Routes of the read-model endpoints; a trailing slash is optional, as on every path.

They live under `/tasks`, so `config.urls` lists them before the task routes: otherwise
`/tasks/stats` would be taken for the task with the id `stats`.
"""

from django.urls import re_path

from events_app.api.views import TaskHistoryView, UserStatsView

urlpatterns = [
    re_path(r"^tasks/stats/?$", UserStatsView.as_view(), name="task-stats"),
    re_path(r"^tasks/(?P<task_id>[^/]+)/events/?$", TaskHistoryView.as_view(), name="task-events"),
]
