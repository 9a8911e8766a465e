"""Detection on every scene type of the labelled evaluation set (host_sim.evalset), fixed
seeds, the PIR-window protocol of docs/DETECTION.md. Labels come from the scene generator."""
import pytest

from host_sim import evalset
from wildcam.capture.detect import MotionDetector

SEEDS = range(30)      # the benchmark's seeds (python -m bench detect); held-out: 1000+


@pytest.fixture(scope="module")
def result():
    seqs = evalset.generate(SEEDS)
    return evalset.evaluate(seqs, lambda w, h: MotionDetector(w, h, kernel="python"))


def test_every_scene_type_is_evaluated(result):
    assert sorted(result["types"]) == sorted(evalset.TYPES)
    for kind, c in result["types"].items():
        assert c["n"] == len(SEEDS)
        group = evalset.TYPES[kind][0]
        # labels from the generator: every animal sequence has the animal in the window
        assert c["positives"] == (c["n"] if group in ("animal", "info") else 0), kind


def test_recall_on_animal_crossings(result):
    g = result["groups"]["animal"]
    assert g["recall"] >= 0.95, g
    assert g["precision"] >= 0.95, g
    for kind, (group, _) in evalset.TYPES.items():
        if group == "animal":
            assert result["types"][kind]["recall"] >= 0.8, (kind, result["types"][kind])


def test_false_trigger_rate_on_wind_and_light(result):
    for kind in ("clouds", "ir_switch"):                 # light changes: never a trigger
        assert result["types"][kind]["fired_negatives"] == 0, result["types"][kind]
    # target: <= 5 % over wind + light scenes (2 of 90 here, both wind). Held-out seeds
    # 1000-1059 are worse (wind ~23 %): docs/DETECTION.md "Known gaps".
    assert result["groups"]["false"]["false_trigger_rate"] <= 0.05, result["groups"]["false"]
    assert result["types"]["wind"]["false_trigger_rate"] <= 0.1, result["types"]["wind"]


def test_no_trigger_on_empty_and_night_noise(result):
    assert result["groups"]["negative"]["fired_negatives"] == 0


def test_hits_are_located_on_the_animal(result):
    assert result["groups"]["animal"]["mean_iou"] >= 0.3


def test_sequences_are_deterministic():
    a = evalset.make("animal_small", 3)
    b = evalset.make("animal_small", 3)
    fa = a.frames(32, 24, 4.0, 3, 1.0)
    fb = b.frames(32, 24, 4.0, 3, 1.0)
    assert [f[1] for f in fa] == [f[1] for f in fb] and a.t0 == b.t0
    assert a.scene.truth(a.t0 + 2.0) == b.scene.truth(b.t0 + 2.0) != []
    with pytest.raises(ValueError):
        evalset.make("unicorns", 1)
