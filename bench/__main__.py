"""`python -m bench [name ...]`: run benchmarks and print one table of figures vs targets.

Each writes bench/results/<name>.json.
"""
from __future__ import annotations

import argparse
import importlib

# name -> [(key, target text, check(value) -> bool)]
TARGETS = {
    "power": [
        ("battery_days_central", "modified board", None),
        ("battery_days_low", "", None),
        ("battery_days_high", "", None),
        ("battery_days_floor", "sleep only", None),
        ("central_vs_floor", ">= 0.85", lambda v: v >= 0.85),
        ("awake_share", "<= 0.15", lambda v: v <= 0.15),
        ("sleep_ma", "", None),
        ("gain_vs_baseline", "vs no hold", None),
        ("battery_days_central_stock", "stock board", None),
        ("battery_days_low_stock", "", None),
        ("battery_days_high_stock", "", None),
        ("battery_days_central_no_network", "no access point", None),
        ("battery_days_central_lean", "1 JPEG, no look", None),
        ("awake_share_lean", "", None),
        ("central_vs_floor_lean", "", None),
    ],
    "frozen": [
        ("frozen_vs_mpy_pir", "info", None),
        ("saved_board_s_pir", "board s", None),
        ("frozen_vs_mpy_timer", "info", None),
        ("saved_board_s_timer", "board s", None),
    ],
    "outbox": [
        ("open_ratio_10000_vs_10", "<= 1.2", lambda v: v is not None and v <= 1.2),
        ("mpy_open_ratio_10000_vs_10", "<= 1.2", lambda v: v is not None and v <= 1.2),
        ("open_ms_10", "", None),
        ("open_ms_10000", "", None),
        ("mpy_open_ms_10", "", None),
        ("mpy_open_ms_10000", "", None),
        ("ram_bytes_per_extra_item", "0 B", lambda v: v <= 1),
        ("flash_bytes_per_item", "<= SQLite", None),
        ("sqlite_flash_bytes_per_item", "reference", None),
        ("flash_bytes_vs_sqlite", "<= 1.0", lambda v: v <= 1.0),
        ("enqueue_per_s", "", None),
        ("sqlite_enqueue_per_s", "reference", None),
    ],
    "detect": [
        ("recall_large", ">= 0.95", lambda v: v is not None and v >= 0.95),
        ("recall_small", ">= 0.80", lambda v: v is not None and v >= 0.80),
        ("false_trigger_rate", "<= 0.05", lambda v: v is not None and v <= 0.05),
        ("mean_iou", ">= 0.5", lambda v: v is not None and v >= 0.5),
        ("heldout_recall_large", ">= 0.95", lambda v: v is not None and v >= 0.95),
        ("heldout_recall_small", ">= 0.80", lambda v: v is not None and v >= 0.80),
        ("heldout_false_trigger_rate", "<= 0.05", lambda v: v is not None and v <= 0.05),
        ("heldout_mean_iou", ">= 0.5", lambda v: v is not None and v >= 0.5),
        ("recall", "info (all animals)", None),
        ("precision", "", None),
        ("recall_graze", "info", None),
        ("heldout_recall_graze", "info", None),
        ("kernel_speedup_cpython", ">= 20", lambda v: v >= 20),
        ("kernel_speedup_micropython", ">= 20", lambda v: v >= 20),
        ("kernel_us_micropython", "", None),
        ("kernel_speedup_viper_unix", "info", None),
        ("detector_core_us_cpython", "", None),
        ("detector_core_us_micropython", "info (wasm)", None),
        ("detector_core_us_unix", "info (viper)", None),
    ],
    "upload": [
        ("chunk_size", "", None),
        ("mpy_peak_heap_100k", "<= chunk+8KB", None),
        ("mpy_peak_heap_1m", "<= chunk+8KB", None),
        ("mpy_heap_over_chunk_max", "<= 8192", lambda v: v <= 8192),
        ("throughput_ratio_s3", ">= 0.8", lambda v: v >= 0.8),
        ("throughput_ratio_azure", ">= 0.8", lambda v: v >= 0.8),
        ("s3_ours_peak_bytes", "", None),
        ("s3_boto3_peak_bytes", "reference", None),
        ("azure_ours_peak_bytes", "", None),
        ("azure_sdk_peak_bytes", "reference", None),
        ("ours_put_peak_heap_100k", "110 KB heap", lambda v: v is not None),
        ("ours_put_peak_heap_1m", "110 KB heap", lambda v: v is not None),
        ("urequests_peak_heap_100k", "reference", None),
        ("urequests_peak_heap_1m", "reference", None),
        ("urequests_peak_heap_100k_wasm", "reference", None),
        ("urequests_max_body_110k", "reference", None),
        ("ours_verifies_tls", "True", lambda v: v is True),
        ("urequests_verifies_tls", "reference", None),
    ],
    "latency": [
        ("p95_overhead_ms", "<= 1000 ms", lambda v: v is not None and v <= 1000),
        ("p50_overhead_ms", "", None),
        ("image_p95_latency_ms", "incl. link", None),
        ("image_p95_link_ms", "simulated", None),
        ("event_p95_latency_ms", "incl. link", None),
        ("lost", "0", lambda v: v == 0),
    ],
    "drain": [
        ("link_utilisation", ">= 0.9", lambda v: v is not None and v >= 0.9),
        ("lost", "0", lambda v: v == 0),
        ("drain_s", "", None),
        ("queued_items", ">= 500", lambda v: v is not None and v >= 500),
        ("link_utilisation_rtt0", "info", None),
        # one burst's worth above the cap is allowed (the bucket starts full)
        ("engine_cap_ratio", "<= 1.02", lambda v: v is not None and v <= 1.02),
    ],
    "footprint": [
        ("boot_heap_bytes", "<= 40 KB", lambda v: v is not None and v <= 40960),
        ("boot_heap_frozen_estimate_bytes", "info", None),
        ("boot_heap_bytes_from_source", "reference", None),
        ("mpy_total_bytes", "<= 150 KB", lambda v: v is not None and v <= 153600),
    ],
    "deploy": [
        ("deploy_mpremote_s", "virtual board", None),
        ("deploy_ampy_s", "virtual board", None),
        ("redeploy_mpremote_s", "nothing changed", None),
        ("redeploy_ampy_s", "nothing changed", None),
        ("mpremote_cp_kb_s", "no raw-paste here", None),
        ("ampy_put_kb_s", "ampy's own put", None),
        ("deploy_files", "", None),
        ("deploy_mpy_bytes", "", None),
    ],
    "stall": [
        ("max_gap_ms_drip", "<= 50 ms", lambda v: v is not None and v <= 50),
        ("max_gap_ms_stall", "<= 50 ms", lambda v: v is not None and v <= 50),
        ("max_gap_ms_upload", "<= 50 ms", lambda v: v is not None and v <= 50),
        ("max_gap_ms_tls", "<= 50 ms", lambda v: v is not None and v <= 50),
        ("max_gap_ms", "<= 50 ms", lambda v: v is not None and v <= 50),
        ("baseline_max_gap_ms", "reference", None),
        ("trigger_p95_ms_idle", "", None),
        ("trigger_p95_ms_uploading", "<= idle + 50", None),
        ("trigger_p95_ms_over_idle", "<= 50 ms", lambda v: v is not None and v <= 50),
        ("trigger_p95_ms_uploading_baseline", "reference", None),
    ],
    "wake": [
        ("wake_ms_0", "", None),
        ("wake_ms_1000", "", None),
        ("wake_ms_10000", "", None),
        ("baseline_ms", "bare driver", None),
        ("wake_ratio_0", "<= 1.5", lambda v: v is not None and v <= 1.5),
        ("wake_ratio_10000_vs_0", "<= 1.1", lambda v: v is not None and v <= 1.1),
        ("board_ms_0", "<= 600 + boot", lambda v: v is not None and v <= 600),
        ("board_ms_10000", "<= 600 + boot", lambda v: v is not None and v <= 600),
        ("wake_ratio_0_settle0", "info", None),
        ("board_ms_0_settle0", "info", None),
        ("baseline_board_ms", "reference", None),
        ("radio_before_first_jpeg_10000", "False", lambda v: v is False),
        ("scale_factor", "pystone", None),
        ("whole_cpu_ms_pir", "whole wake", None),
        ("whole_board_s_pir", "x pystone", None),
        ("whole_board_s_pir_beyond_window", "not hidden", None),
        ("import_cpu_ms", "boot.py+imp.", None),
        ("import_board_s", "x pystone", None),
        ("whole_cpu_ms_timer", "whole wake", None),
        ("whole_board_s_timer", "x pystone", None),
    ],
    "ota": [
        ("verify_ms_micropython", "<= 100 ms", lambda v: v <= 100),
        ("ed25519_verify_ms_micropython_lower_bound", "reference", None),
        ("rsa4096_verify_ms_micropython", "reference", None),
        ("peak_heap_bytes", "<= 32 KB", lambda v: v is not None and v <= 32768),
        ("flash_bytes_written", "~ bundle", None),
        ("bundle_bytes", "", None),
    ],
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("names", nargs="*", default=sorted(TARGETS), help="benchmarks to run")
    args = ap.parse_args(argv)
    misses = 0
    for name in args.names:
        mod = importlib.import_module(f"bench.{name}")
        result = mod.run()
        print(f"\n{name}")
        for key, target, check in TARGETS[name]:
            value = result.get(key)
            mark = "" if check is None else ("ok" if check(value) else "MISS")
            misses += mark == "MISS"
            print(f"  {key:32s} {value!s:>12}  {target:12s} {mark}")
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
