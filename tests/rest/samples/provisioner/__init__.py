"""provisioner samples, one module per domain."""
