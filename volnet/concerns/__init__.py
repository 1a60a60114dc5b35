"""concerns domain."""
