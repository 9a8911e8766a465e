"""The verdict window takes no look frame more than it needs (issue 21): it ends at the
frame that confirms motion, rejects a still view after `detect.still_frames` frames, never
ends early in a cold window, and still catches a slow animal. Run in virtual time on a
simulated board (the window's sleeps are the firmware's)."""
import asyncio

from host_sim import evalset
from wildcam.capture.detect import MotionDetector
from wildcam.capture.judge import Judge

W, H = 160, 120
CFG = {"detect.frame": "QQVGA", "detect.fps": 4, "detect.frames": 20, "detect.still_frames": 6}


class Cfg:
    def __init__(self, **over):
        self.d = dict(CFG, **{k.replace("_", ".", 1): v for k, v in over.items()})

    def get(self, key):
        return self.d[key]


class Log:
    def warning(self, *a):
        raise AssertionError(a[0] % a[1:])


class Cam:
    """Hands out `frames` in order (the last one again when they run out)."""

    def __init__(self, frames):
        self.frames, self.taken = list(frames), 0

    def configure(self, gray=False, frame_size=None):
        pass

    @staticmethod
    def unsigned(f):
        return f

    async def capture(self):
        self.taken += 1
        await asyncio.sleep_ms(80)  # a QQVGA grayscale frame at 12.5 fps
        return self.frames[min(self.taken, len(self.frames)) - 1]


class Scripted:
    """A detector stand-in: motion at frame `at` (1-based), never quiet."""

    class R:
        motion, reason = False, "unconfirmed"

        def as_dict(self):
            return {"motion": True, "box": (0, 0, 1, 1)}

    def __init__(self, at):
        self.at, self.n, self.quiet_lead = at, 0, 0
        self.ref = type("Ref", (), {"count": 0})()

    def begin(self):
        self.n = 0

    def update(self, frame):
        self.n += 1
        r = self.R()
        r.motion = self.n >= self.at
        return r

    def end(self, learn):
        pass

    def refresh(self, frame):  # a detector (not a factory) to the Judge
        pass


def _window(make_board, sim, cam, det, **cfg):
    board = make_board(boot_time=0.0)
    out = {}

    async def fw(storage):
        j = Judge(Cfg(**cfg), cam, det, Log())
        t = board.now
        out["verdict"] = (await j.window(False, lambda on: None))[1]
        out["looked"], out["reason"], out["s"] = j.looked, j.reason, board.now - t

    board.power_on(fw)
    sim.run_for(30)
    return out


def _with_reference(seq):
    det, _ = evalset.prepare(seq, lambda w, h: MotionDetector(w, h, kernel="python"), W, H)
    return det


def test_a_confirmed_trigger_ends_the_window_at_the_confirming_frame(sim, make_board):
    cam = Cam([bytes(W * H)])
    out = _window(make_board, sim, cam, Scripted(at=3))
    assert out["verdict"] and out["verdict"]["motion"]
    assert out["looked"] == 3 and cam.taken == 3


def test_a_still_view_is_rejected_after_still_frames(sim, make_board):
    seq = evalset.make("empty", 3)
    frames = [f for _, f, _ in seq.frames(W, H, 4.0, 20, 1.0)]
    cam = Cam(frames)
    out = _window(make_board, sim, cam, _with_reference(seq))
    assert out["verdict"] is False and out["reason"] == "quiet"
    assert out["looked"] == 6 and cam.taken == 6
    # the same view with the early end off takes every frame
    cam = Cam(frames)
    out = _window(make_board, sim, cam, _with_reference(seq), detect_still_frames=0)
    assert out["verdict"] is False and out["looked"] == 20


def test_frames_are_taken_at_the_configured_rate_not_rate_plus_frame_time(sim, make_board):
    seq = evalset.make("empty", 3)
    cam = Cam([f for _, f, _ in seq.frames(W, H, 4.0, 20, 1.0)])
    out = _window(make_board, sim, cam, _with_reference(seq), detect_still_frames=0)
    # 20 frames 250 ms apart: 19 gaps and the last frame's 80 ms, not 20 x (250 + 80) ms
    assert abs(out["s"] - (19 * 0.25 + 0.08)) < 0.05


def test_a_cold_window_never_ends_early(sim, make_board):
    seq = evalset.make("empty", 3)
    cam = Cam([f for _, f, _ in seq.frames(W, H, 4.0, 20, 1.0)])
    out = _window(make_board, sim, cam, MotionDetector(W, H, kernel="python"))
    assert out["verdict"] is False and out["looked"] == 20  # it learns, then watches


def test_slow_and_late_animals_are_still_caught(sim, make_board):
    caught = 0
    for kind, seed in (("slow", 0), ("slow", 1), ("small", 2), ("walk", 4)):
        seq = evalset.make(kind, seed)
        cam = Cam([f for _, f, _ in seq.frames(W, H, 4.0, 20, 1.0)])
        out = _window(make_board, sim, cam, _with_reference(seq))
        caught += bool(out["verdict"])
        assert out["verdict"] is not False or out["looked"] > 6, (kind, seed, out)
    assert caught == 4
