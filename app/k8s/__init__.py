"""Kubernetes access: clients per cluster, watch-fed caches, kubeconfig parsing, resource kinds."""
