"""jsonutil.clip: long texts cut so a report fits its record (portable)."""

from wildcam.core.jsonutil import clip, dumps


def test_clip_cuts_long_texts_everywhere_and_keeps_the_rest():
    doc = {"ota": {"why": "x" * 500, "ok": True, "n": 3},
           "errors": ["short", "y" * 300], "name": "cam"}
    out = clip(doc, 100)
    assert out["ota"]["why"] == "x" * 97 + "..." and out["ota"]["n"] == 3
    assert out["ota"]["ok"] is True and out["errors"] == ["short", "y" * 97 + "..."]
    assert out["name"] == "cam" and len(dumps(out)) < 300
    assert doc["ota"]["why"] == "x" * 500  # the original is untouched
