"""raybus.host: binds an engine to its partition log (replay, commit, checkpoint), Ray-free."""

__all__: list[str] = []
