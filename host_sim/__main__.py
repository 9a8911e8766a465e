"""`python -m host_sim`: the main job (see host_sim/demo.py)."""
from host_sim.demo import main

raise SystemExit(main())
