"""The throwaway PKI lives in host_sim/servers/pki.py (shared with `python -m host_sim`)."""
from host_sim.servers.pki import _run, _which, make_pki  # noqa: F401
