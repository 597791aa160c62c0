"""Provisioning clusters onto customer machines: SSH preflight of the nodes and the kubeadm phase plan."""
