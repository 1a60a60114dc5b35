"""observations domain."""
