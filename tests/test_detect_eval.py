"""Detection on every scene type of the labelled evaluation set (host_sim.evalset), a small
subset of the benchmark's seeds (python -m bench detect runs 30 bench and 30 held-out seeds
per type), under the protocol of docs/DETECTION.md: a reference wake, deep sleep, a PIR
window. Labels come from the scene generator."""
import pytest

from host_sim import evalset
from wildcam.capture.detect import MotionDetector

SEEDS = range(4)       # bench seeds (tuning may look at 0-29); held-out: 1000-1029


def make(w, h):
    return MotionDetector(w, h, kernel="python")


class Cold:
    """The same detector without its reference: every window starts cold."""

    def __init__(self, w, h):
        self.d = make(w, h)
        self.bw = self.d.bw

    def update(self, frame):
        return self.d.update(frame)


@pytest.fixture(scope="module")
def result():
    return evalset.evaluate(evalset.generate(SEEDS), make)


def test_every_scene_type_is_evaluated(result):
    assert sorted(result["types"]) == sorted(evalset.TYPES)
    for kind, c in result["types"].items():
        assert c["n"] == len(SEEDS)
        group = evalset.TYPES[kind][0]
        # labels from the generator: every animal sequence has the animal in the window
        assert c["positives"] == (c["n"] if group in ("animal", "info") else 0), kind


def test_recall_by_size(result):
    large, small = result["sizes"]["large"], result["sizes"]["small"]
    assert large["positives"] >= 25 and small["positives"] >= 12
    # targets on the whole set: >= 0.95 and >= 0.80 (bench and held-out seeds, bench detect)
    assert large["recall"] >= 0.9, large
    assert small["recall"] >= 0.7, small
    assert result["groups"]["animal"]["precision"] >= 0.95, result["groups"]["animal"]


def test_false_triggers(result):
    for kind in ("clouds", "ir_switch"):                 # light changes: never a trigger
        assert result["types"][kind]["fired_negatives"] == 0, result["types"][kind]
    # target <= 5 % over all "false" types; on this small subset allow 3 of 36
    assert result["groups"]["false"]["fired_negatives"] <= 3, result["groups"]["false"]


def test_no_trigger_on_empty_and_night_noise(result):
    assert result["groups"]["negative"]["fired_negatives"] == 0


def test_hits_cover_the_animal(result):
    assert result["groups"]["animal"]["mean_iou"] >= 0.5


def test_the_reference_is_what_finds_animals_already_there():
    """The planted failure: withhold the reference (a cold window) and the animals that were
    in view before the PIR fired (grazing, slow, present) are mostly lost."""
    kinds = ("graze", "slow", "present")
    seqs = evalset.generate(SEEDS, kinds)
    warm = evalset.evaluate(seqs, make)["overall"]["recall"]
    cold = evalset.evaluate(seqs, Cold)["overall"]["recall"]
    assert warm >= 0.8 and cold <= warm - 0.4, (warm, cold)


def test_reference_fits_its_rtc_budget():
    seq = evalset.make("walk", 1)
    det, blob = evalset.prepare(seq, make, 160, 120)
    assert blob is not None and len(blob) == 1514 <= evalset.REF_BYTES
    assert det.ref.count == evalset.REF_FRAMES
    from wildcam.core.rtcstate import HEAD, JSON_BUDGET, RTC_MAX
    assert HEAD + JSON_BUDGET + len(blob) <= RTC_MAX


def test_sequences_are_deterministic():
    a = evalset.make("graze", 3)
    b = evalset.make("graze", 3)
    fa = a.frames(32, 24, 4.0, 3, 1.0)
    fb = b.frames(32, 24, 4.0, 3, 1.0)
    assert [f[1] for f in fa] == [f[1] for f in fb] and a.t0 == b.t0 and a.t_ref == b.t_ref
    assert a.scene.truth(a.t0 + 2.0) == b.scene.truth(b.t0 + 2.0) != []
    assert a.reference(32, 24) == b.reference(32, 24)
    assert not any(a.scene.truth(a.t_ref + k / 4.0) for k in range(evalset.REF_FRAMES))
    assert evalset.make("cold", 3).t_ref is None
    with pytest.raises(ValueError):
        evalset.make("unicorns", 1)
