"""qassure samples, one module per domain."""
