"""runtime domain."""
