"""The benchmarks: each part of the project against the peer it imitates, on this machine.

    python -m bench.serving            # inference server vs KServe's ModelServer (REST, gRPC)
    python -m bench.registry           # registry_local vs MLflow's tracking server
    python -m bench.registry_threads   # registry_local on PostgreSQL: loop vs threads
    python -m bench.app                # the app in Chromium, vs an earlier revision of itself

`make bench-serving`, `make bench-registry`, ... run them. Peers live in virtualenvs of their
own (`bench.peers`); the programs they run there are in `bench/peer_models/`. Servers are
started with `stack.proc` (`bench.processes`), and every report begins with the machine and
its load (`bench.report`).
"""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / ".bench"
"""Trained models, peers' virtualenvs, work folders and the last run of each benchmark."""
