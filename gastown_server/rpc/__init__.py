"""rpc domain."""
