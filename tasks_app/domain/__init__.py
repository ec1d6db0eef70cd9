"""The task domain: entities, value objects, events and errors, in the standard library only."""
