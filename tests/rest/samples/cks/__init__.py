"""cks samples, one module per domain."""
