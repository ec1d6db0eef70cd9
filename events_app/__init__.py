"""Event consumers: the task history and per-user statistics read models, and their entry points."""
