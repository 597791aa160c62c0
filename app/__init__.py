"""Fleetgraph: one GraphQL control plane for a Kubernetes-as-a-Service provider."""

__version__ = "0.1.0"
