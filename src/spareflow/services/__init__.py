"""Use cases over the store: each function runs inside the caller's unit of work."""
