"""kubesim: a Kubernetes API server simulator served over real HTTP.

From the command line::

    python -m kubesim --clusters 3 --profile small --seed 1 --tls --kubeconfig-out ./kubeconfigs

In-process (tests, demos)::

    from kubesim.fleet import start_fleet

    async with start_fleet(2, profile="small", seed=1) as fleet:
        fleet.kubeconfigs["cluster-0"]  # a kubeconfig with the server URL and bearer token

``fleet_in_thread`` runs the same fleet on a background event loop for synchronous callers.
"""

__version__ = "0.1.0"
