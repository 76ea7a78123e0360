"""raybus.rules: EventBridge event patterns and SNS filter policies, compiled (work in progress)."""

__all__: list[str] = []
