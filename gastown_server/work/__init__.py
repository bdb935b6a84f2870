"""work domain."""
