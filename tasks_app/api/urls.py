"""Routes of the task endpoints; a trailing slash is optional on every path."""

from rest_framework.routers import SimpleRouter

from tasks_app.api.views import TaskViewSet


class OptionalSlashRouter(SimpleRouter):
    """SimpleRouter only takes a yes/no for the slash; this makes it optional (`/tasks` and `/tasks/`)."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("tasks", TaskViewSet, basename="task")

urlpatterns = router.urls
