"""raybus.engines: pure, clock-driven state machines for each resource kind."""

__all__: list[str] = []
