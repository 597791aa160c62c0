"""kubilitics samples, one module per domain."""
