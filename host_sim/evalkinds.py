"""Scene types of the detection evaluation set (see host_sim.evalset and docs/DETECTION.md,
"Evaluation set", which lists the same conditions). Each builder draws every parameter from
a `random.Random` seeded by (type, seed): backdrop, light drift, animal size, speed,
contrast, texture, path; so one seed is one sequence, and seeds never seen in tuning are
sequences never seen in tuning.

Times: the PIR fires at t0; the reference wake (a quiet wake or the end of a rejected event
whose frames the detector learnt and kept in RTC memory) was at t_ref = t0 - 60..1800 s,
before any animal came; `cold` types have no reference (first wake after power-up).
"""
from __future__ import annotations

import math
import random

from .scenes.creature import Approach, Creature, Graze, Walk
from .scenes.flora import Foliage, Occluder
from .scenes.lighting import Clouds, Drift, Flecks, IRLamp, ShadowSweep, SunBurst
from .scenes.nearlens import Insect, Leaf
from .scenes.texture import Backdrop
from .scenes.wild import WildScene

# scene type -> (group, description). Groups: "animal" (recall; by size: small 5-12 % of
# the width, large >= 12 %), "false" (no animal, things that look like motion: the
# false-trigger rate), "negative" (no animal, nothing moving), "info" (reported only).
TYPES = {
    "walk": ("animal", "crossing at walking speed (6-30 % of the width per s), 5-40 % wide"),
    "run": ("animal", "fast crossing (30-50 % of the width per s)"),
    "slow": ("animal", "slow walker, 1-2 px per frame, already in view"),
    "present": ("animal", "in view from the first frame (the PIR fired late), any pace"),
    "graze": ("animal", "grazing: the body stays, only the head goes down and up"),
    "approach": ("animal", "walking towards the camera: grows from 5-12 % to 20-45 %"),
    "camo": ("animal", "camouflaged: fur within 6-16 grey levels of the ground behind it"),
    "occluded": ("animal", "crossing behind a foreground trunk or bush"),
    "small": ("animal", "small animal, 5-12 % of the width, walking or slow"),
    "night_ir": ("animal", "night, IR LED on, eye-shine, sensor noise 8-16"),
    "wind_animal": ("animal", "animal among swaying branches and grass"),
    "light_animal": ("animal", "animal while sun bursts, flecks, clouds or a shadow pass"),
    "cold": ("animal", "crossing, no reference (first wake after power-up)"),
    "wind": ("false", "swaying branches and grass, false PIR pulse"),
    "clouds": ("false", "sun behind passing clouds: the whole view dims and brightens"),
    "sun_burst": ("false", "sun through the canopy: dappled patches brighten or fade"),
    "flecks": ("false", "sun flecks through moving leaves: bright spots wobble, flicker"),
    "shadow": ("false", "the soft edge of a cloud shadow crosses the view"),
    "leaf": ("false", "falling leaves near the lens: blurred, large, fast, straight"),
    "insect": ("false", "insects near the lens: blurred, erratic; bright under IR"),
    "ir_switch": ("false", "night: first frame dark, then the IR LED switches on"),
    "cold_wind": ("false", "swaying vegetation, no reference (first wake after power-up)"),
    "empty": ("negative", "static view, sensor noise, light drift"),
    "night_noise": ("negative", "night sensor noise, IR on or off, nothing there"),
    "night_noir": ("info", "animal at night without IR (out of scope: IR is on at night)"),
}

WINDOW = (1.0, 4.0, 20)          # delay (s), fps, frames: the PIR window of the protocol


def window_span(t0):
    d, fps, n = WINDOW
    return t0 + d, t0 + d + (n - 1) / fps


def _logu(rng, a, b):
    return math.exp(rng.uniform(math.log(a), math.log(b)))


def _shade(rng, bd, x, y, camo=False, night=False):
    """Fur shade against the local ground: clearly different, or camouflaged."""
    m = bd.mean_at(min(1, max(0, x)), min(1, max(0, y)))
    if camo:
        d = rng.uniform(6, 16)
    elif night:
        d = rng.uniform(30, 90)
    else:
        d = rng.uniform(30, 100)
    sgn = -1 if (rng.random() < 0.65 or m + d > 245) and m - d > 8 else 1
    return max(8, min(245, m + sgn * d))


def _creature(rng, bd, path, size, start, end, xm, ym, camo=False, night=False):
    aspect = rng.uniform(0.45, 0.8)
    yc = ym - 0.5 * size * aspect * 160 / 120           # body centre above the feet
    tex = bd.std_at(xm, yc) * rng.uniform(0.6, 1.2) if camo else rng.uniform(4, 20)
    return Creature(rng.randint(0, 10 ** 6), path, size=size, start=start, end=end,
                    aspect=aspect, shade=_shade(rng, bd, xm, yc, camo, night), tex=tex,
                    pattern=rng.choice(("plain", "plain", "spots", "stripes")),
                    counter=rng.uniform(0, 30), legs=rng.uniform(0.7, 1.3))


def _crossing(rng, bd, t0, *, size, speed, lead, camo=False, night=False, y=None):
    """Walk across; its front entered the view `lead` s before t0 (negative: after)."""
    d = rng.choice((1, -1))
    y = rng.uniform(0.5, 0.97) if y is None else y
    t_in = t0 - lead
    x0 = -size / 2 if d > 0 else 1 + size / 2
    vx = d * speed
    path = Walk(x0, y, vx, t_in, vy=rng.uniform(-0.01, 0.01))
    end = t_in + (1 + size) / speed
    tm = 0.5 * sum(window_span(t0))
    xm = min(0.95, max(0.05, x0 + vx * (tm - t_in)))
    return _creature(rng, bd, path, size, t_in, end, xm, y, camo, night)


def _present(rng, bd, t0, *, size, speed, camo=False, night=False):
    """Already in view at the first window frame, walking on."""
    d = rng.choice((1, -1))
    y = rng.uniform(0.5, 0.97)
    t1 = window_span(t0)[0]
    x1 = rng.uniform(0.1, 0.9)                         # body centre at the first frame
    vx = d * speed
    x0 = -size / 2 if d > 0 else 1 + size / 2
    t_in = t1 - (x1 - x0) / vx
    path = Walk(x0, y, vx, t_in, vy=rng.uniform(-0.005, 0.005))
    return _creature(rng, bd, path, size, t_in, t_in + (1 + size) / speed, x1, y, camo, night)


def _size(rng, small=False):
    return rng.uniform(0.05, 0.12) if small else _logu(rng, 0.05, 0.4)


def _base(rng, sseed, night=False):
    bd = Backdrop(sseed, dark=night)
    lights = [Drift(sseed, amp=rng.uniform(0.03, 0.15), period=rng.uniform(1200, 3600),
                    exposure=rng.uniform(0.02, 0.15))]
    return bd, lights


def _wind(rng, sseed, strength=None, pir=0.0):
    return Foliage(sseed, 0.0, 1e6, strength=strength or rng.uniform(0.3, 0.9),
                   branches=rng.randint(1, 4), grass=rng.randint(0, 10),
                   false_pir_per_hour=pir, shade=rng.uniform(30, 150))


def _light_event(rng, sseed, t0):
    k = rng.choice(("burst", "flecks", "clouds", "shadow"))
    if k == "burst":
        return SunBurst(sseed, t0 + rng.uniform(-2, 4), peak=rng.uniform(0.3, 1.2),
                        ramp=rng.uniform(0.5, 3), hold=rng.uniform(3, 30),
                        cover=rng.uniform(0.2, 0.6), blotch=rng.uniform(0.6, 2.0),
                        period=rng.choice((0.0, 0.0, rng.uniform(20, 60))))
    if k == "flecks":
        return Flecks(sseed, n=rng.randint(5, 30), r=rng.uniform(0.01, 0.035),
                      amp=rng.uniform(0.005, 0.04), freq=rng.uniform(0.3, 1.5),
                      bright=rng.uniform(0.4, 1.2))
    if k == "clouds":
        return Clouds(0.0, 1e6, depth=rng.uniform(0.2, 0.6), period=rng.uniform(20, 120))
    return ShadowSweep(t0 + rng.uniform(-1, 3), depth=rng.uniform(0.2, 0.5),
                       speed=rng.uniform(0.1, 0.4), angle=rng.uniform(0, 2 * math.pi),
                       soft=rng.uniform(0.05, 0.3), entering=rng.random() < 0.5)


def _leaves(rng, t0, night):
    out = []
    for _ in range(rng.choice((1, 1, 2))):
        dist = rng.uniform(0.12, 0.8)                   # m from the lens
        size = max(0.06, min(0.6, rng.uniform(0.04, 0.1) / (1.15 * dist)))
        side = rng.random() < 0.2
        ang = (rng.choice((0.0, math.pi)) + rng.uniform(-0.3, 0.3)) if side \
            else math.pi / 2 + rng.uniform(-0.6, 0.6)
        speed = rng.uniform(0.2, 1.0) / (0.86 * dist)   # relative height per s
        if side:
            x0, y0 = (-0.1, rng.uniform(0.1, 0.8)) if abs(ang) < 1 else (1.1, rng.uniform(0.1, 0.8))
        else:
            x0, y0 = rng.uniform(0.05, 0.95), -0.15
        shade = rng.uniform(170, 255) if night else rng.choice(
            (rng.uniform(20, 80), rng.uniform(140, 230)))
        out.append(Leaf(rng.randint(0, 10 ** 6), t0 + rng.uniform(0.8, 4.5), x0=x0, y0=y0,
                        angle=ang, speed=speed, size=size,
                        blur=rng.uniform(0.004, 0.012) / dist, shade=shade,
                        flutter=rng.uniform(0.0, 0.05)))
    return out


def _insects(rng, t0, night):
    out = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        dist = rng.uniform(0.03, 0.3)
        size = max(0.03, min(0.35, 0.012 / (1.15 * dist)))
        s = t0 + rng.uniform(-3, 4)
        out.append(Insect(rng.randint(0, 10 ** 6), s, s + rng.uniform(1, 8),
                          x=rng.uniform(0.1, 0.9), y=rng.uniform(0.1, 0.9), size=size,
                          blur=rng.uniform(0.002, 0.006) / dist,
                          shade=rng.uniform(180, 255) if night else rng.uniform(15, 90),
                          reach=rng.uniform(0.1, 0.4), drift=rng.uniform(0.0, 0.3)))
    return out


def _night(rng, bd, lights, **kw):
    lights.clear()
    return dict(brightness=rng.uniform(0.03, 0.08), noise=rng.uniform(8, 16),
                lamp=IRLamp(rng.uniform(0.35, 0.55), rng.uniform(0.3, 0.6)), **kw)


def build(kind: str, seed: int):
    """(scene, t0, options) for one sequence; options: ir, ir_from, reference (bool)."""
    rng = random.Random("%s/%d" % (kind, seed))
    sseed = rng.randint(0, 10 ** 6)
    t0 = 2000.0 + rng.uniform(0, 3000)
    night = kind in ("night_ir", "night_noir", "ir_switch", "night_noise") or (
        kind in ("leaf", "insect") and rng.random() < 0.4)
    bd, lights = _base(rng, sseed, night)
    opts = {"ir": False, "ir_from": 0, "reference": not kind.startswith("cold")}
    kw = {"noise": rng.uniform(1.5, 4.0)}
    if night:
        kw = _night(rng, bd, lights)
        opts["ir"] = kind != "night_noir" and not (kind == "night_noise" and seed % 2)
    animals, foliage, occl, near = [], [], [], []
    if kind in ("walk", "cold", "wind_animal", "light_animal"):
        animals.append(_crossing(rng, bd, t0, size=_size(rng), speed=rng.uniform(0.06, 0.3),
                                 lead=rng.uniform(-0.3, 0.6)))
    elif kind == "run":
        animals.append(_crossing(rng, bd, t0, size=_size(rng), speed=rng.uniform(0.3, 0.5),
                                 lead=rng.uniform(-0.2, 0.2)))
    elif kind == "slow":
        animals.append(_present(rng, bd, t0, size=_size(rng), speed=rng.uniform(0.025, 0.05)))
    elif kind == "present":
        animals.append(_present(rng, bd, t0, size=_size(rng), speed=_logu(rng, 0.03, 0.25)))
    elif kind in ("camo", "small", "night_ir", "night_noir"):
        size = _size(rng, small=kind == "small")
        if rng.random() < 0.5:
            animals.append(_crossing(rng, bd, t0, size=size, speed=_logu(rng, 0.03, 0.3),
                                     lead=rng.uniform(-0.3, 0.6), camo=kind == "camo",
                                     night=night))
        else:
            animals.append(_present(rng, bd, t0, size=size, speed=_logu(rng, 0.025, 0.25),
                                    camo=kind == "camo", night=night))
    elif kind == "graze":
        size = _size(rng)
        x, y = rng.uniform(0.15, 0.85), rng.uniform(0.55, 0.97)
        period = rng.uniform(3, 6)
        steps = rng.random() < 0.5
        path = Graze(x, y, rng.choice((1, -1)), period, period - rng.uniform(0.8, 2.0),
                     rng.uniform(0, period), step=rng.uniform(0.005, 0.02) if steps else 0.0,
                     step_every=rng.uniform(3, 8) if steps else 0.0, t0=t0)
        animals.append(_creature(rng, bd, path, size, t0 - rng.uniform(30, 50), t0 + 60, x, y))
    elif kind == "approach":
        s0, s1 = rng.uniform(0.09, 0.22), rng.uniform(0.36, 0.8)   # x 0.55 seen from the front
        x0 = rng.uniform(0.2, 0.8)
        path = Approach(x0, rng.uniform(0.45, 0.65), x0 + rng.uniform(-0.15, 0.15),
                        rng.uniform(0.85, 1.1), s0, s1, t0 - rng.uniform(0, 1.0),
                        rng.uniform(4, 10))
        animals.append(_creature(rng, bd, path, 1.0, t0 - 1.0, t0 + 60, x0, 0.6))
    elif kind == "occluded":
        size = _size(rng)
        a = _crossing(rng, bd, t0, size=size, speed=rng.uniform(0.06, 0.3),
                      lead=rng.uniform(-0.3, 0.6))
        animals.append(a)
        for _ in range(rng.choice((1, 1, 2))):
            what = rng.choice(("trunk", "bush"))
            occl.append(Occluder(rng.randint(0, 10 ** 6), what, rng.uniform(0.1, 0.75),
                                 rng.uniform(0.06, 0.18) if what == "trunk" else rng.uniform(0.15, 0.35),
                                 rng.uniform(30, 180), top=rng.uniform(0.45, 0.75)))
    if kind in ("wind_animal", "wind", "cold_wind"):
        foliage.append(_wind(rng, sseed, pir=0.0 if kind == "wind_animal" else 60.0))
    if kind == "light_animal":
        lights.append(_light_event(rng, sseed, t0))
    elif kind == "clouds":
        lights.append(Clouds(0.0, 1e6, depth=rng.uniform(0.2, 0.6), period=rng.uniform(20, 120)))
    elif kind == "sun_burst":
        lights.append(SunBurst(sseed, t0 + rng.uniform(-2, 4), peak=rng.uniform(0.3, 1.2),
                               ramp=rng.uniform(0.5, 3), hold=rng.uniform(3, 30),
                               cover=rng.uniform(0.2, 0.6), blotch=rng.uniform(0.6, 2.0),
                               period=rng.choice((0.0, 0.0, rng.uniform(20, 60)))))
    elif kind == "flecks":
        lights.append(Flecks(sseed, n=rng.randint(5, 30), r=rng.uniform(0.01, 0.035),
                             amp=rng.uniform(0.005, 0.04), freq=rng.uniform(0.3, 1.5),
                             bright=rng.uniform(0.4, 1.2), drift=rng.uniform(0, 0.02)))
        if rng.random() < 0.4:
            foliage.append(_wind(rng, sseed, strength=rng.uniform(0.1, 0.4)))
    elif kind == "shadow":
        lights.append(ShadowSweep(t0 + rng.uniform(-1, 3), depth=rng.uniform(0.2, 0.5),
                                  speed=rng.uniform(0.1, 0.4), angle=rng.uniform(0, 2 * math.pi),
                                  soft=rng.uniform(0.05, 0.3), entering=rng.random() < 0.5))
    elif kind == "leaf":
        near.extend(_leaves(rng, t0, night))
        opts["ir"] = night
    elif kind == "insect":
        near.extend(_insects(rng, t0, night))
        opts["ir"] = night
    elif kind == "ir_switch":
        opts["ir_from"] = 1
    scene = WildScene(bd, animals=animals, foliage=foliage, occluders=occl, lights=lights,
                      nearlens=near, seed=sseed, **kw)
    if kind in ("wind", "cold_wind"):
        t = scene.next_pir_change(t0 - 600)         # a false PIR pulse starts the window
        if t is not None:
            t0 = t
    return scene, t0, opts
