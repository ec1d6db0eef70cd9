"""Application services and the ports they need from the outside world."""
