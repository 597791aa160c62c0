"""kubesim: a Kubernetes API server simulator served over real HTTP."""

__version__ = "0.1.0"
