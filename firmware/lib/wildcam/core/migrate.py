"""Versioned migration of configuration documents.

A document without `"version"` is version 1 (the prototype's format). Each step takes a
flat {dotted key: value} document of version N and returns it as version N+1, appending
to `notes` one line per change a person should know about. Steps never drop a value they
do not understand: unknown keys pass through and are reported by validation instead.
"""

from wildcam.core import schema


def _v1_to_v2(flat, notes):
    # v1 counted the burst as `capture.burst`, and sized the queue in KB.
    if "capture.burst" in flat:
        flat["capture.burst_count"] = flat.pop("capture.burst")
        notes.append("capture.burst renamed to capture.burst_count")
    if "sync.max_queue_kb" in flat:
        kb = flat.pop("sync.max_queue_kb")
        if isinstance(kb, (int, float)) and not isinstance(kb, bool):
            mb = max(1, (int(kb) + 1023) // 1024)
            flat["sync.max_queue_mb"] = mb
            notes.append("sync.max_queue_kb=%s converted to sync.max_queue_mb=%d" % (kb, mb))
        else:
            flat["sync.max_queue_mb"] = kb  # let validation explain what is wrong
            notes.append("sync.max_queue_kb renamed to sync.max_queue_mb")
    return flat


# STEPS[n] migrates version n to n + 1
STEPS = {1: _v1_to_v2}


def migrate(flat, version, notes):
    """Bring `flat` from `version` to schema.VERSION. Returns the new flat document.

    A document newer than this firmware is left as it is, with a note: its keys are still
    validated one by one, so a downgrade keeps every key this firmware knows."""
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        notes.append("version %r is not valid; read as version 1" % (version,))
        version = 1
    if version > schema.VERSION:
        notes.append("config version %d is newer than this firmware's %d; "
                     "unknown keys are kept but ignored" % (version, schema.VERSION))
        return flat
    while version < schema.VERSION:
        flat = STEPS[version](flat, notes)
        version += 1
    return flat
