"""Per-board hardware models (state only; the `host_sim/mpy` shims are their API)."""
