"""Real object-storage servers for tests/services and `python -m bench upload`.

The launchers live in host_sim/servers (shared with `python -m host_sim --real`); this module
keeps the names the tests and benchmarks import.
"""
from host_sim.servers import ROOT, NODE_MODULES, free_port  # noqa: F401
from host_sim.servers import wait_port as _wait_port  # noqa: F401
from host_sim.servers import Server as _Server  # noqa: F401
from host_sim.servers.objstore import (AZ_ACCOUNT, AZ_CONTAINER, AZ_KEY, S3_ACCESS,  # noqa: F401
                                       S3_BUCKET, S3_SECRET, Azurite, S3rver, missing)
