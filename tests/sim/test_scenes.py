from host_sim import scenes
from host_sim.scenes import Animal, Scene


def test_render_is_deterministic_from_seed():
    a, b, c = scenes.Schedule(7), scenes.Schedule(7), scenes.Schedule(8)
    assert a.events == b.events != c.events
    t = 12 * 3600.0
    assert a.render(t, 96, 96) == b.render(t, 96, 96)
    assert a.render(t, 96, 96) != c.render(t, 96, 96)
    assert len(a.render(t, 160, 120)) == 160 * 120


def test_animal_truth_box_pir_and_pixels_agree():
    animal = Animal(10.0, size=0.2, speed=0.1, y=0.5, shade=20)  # crosses 10..22 s
    scene = Scene(1, [animal], noise=0)
    assert scene.events == [(10.0, 22.0, "animal")]
    assert scene.truth(9.9) == [] and not scene.pir(9.9)
    x, y, w, h = scene.truth(16.0)[0]              # fully in view
    assert abs(x - 0.4) < 1e-9 and abs(w - 0.2) < 1e-9 and abs(h - 0.12) < 1e-9
    assert scene.pir(16.0) and not scene.pir(22.0)
    assert scene.next_pir_change(0) == 10.0 and scene.next_pir_change(10.0) == 22.0
    # the pixels inside the box are darker than the same pixels without the animal
    frame = scene.render(16.0, 100, 100)
    empty = Scene(1, [], noise=0).render(16.0, 100, 100)
    cx, cy = int((x + w * 0.4) * 100), int((y + h / 2) * 100)
    assert frame[cy * 100 + cx] < empty[cy * 100 + cx] - 40
    # entering: box clipped at the left edge
    bx, _, bw, _ = scene.truth(11.0)[0]
    assert bx == 0.0 and abs(bw - 0.1) < 1e-9


def test_wind_moves_pixels_and_sometimes_fires_pir_without_truth():
    scene = scenes.wind(seed=4, duration=3600, false_pir_per_hour=10)
    f1, f2 = scene.render(100.0, 96, 96), scene.render(100.7, 96, 96)
    assert f1 != f2
    pulses = []
    t = scene.next_pir_change(0)
    while t is not None:
        pulses.append(t)
        t = scene.next_pir_change(t)
    assert len(pulses) >= 4  # several false pulses in an hour
    assert all(scene.truth(p) == [] for p in pulses)


def test_light_changes_brightness_but_not_pir():
    scene = scenes.light(seed=1, depth=0.6, period=60)
    bright = sum(scene.render(0.0, 64, 48)) / (64 * 48)
    dim = sum(scene.render(30.0, 64, 48)) / (64 * 48)
    assert dim < bright * 0.6
    assert scene.next_pir_change(0) is None


def test_night_is_dark_and_noisy_ir_lifts_it():
    scene = scenes.night(seed=2)
    dark = scene.render(5.0, 64, 48)
    lit = scene.render(5.0, 64, 48, ir=True)
    assert sum(dark) / len(dark) < 30 < sum(lit) / len(lit)
    assert scene.render(5.0, 64, 48) != scene.render(6.0, 64, 48)  # noise differs per frame


def test_schedule_day_night_by_time_of_day():
    sched = scenes.Schedule(3, animals_per_day=0, wind_periods=0, cloud_periods=0)
    noon = sum(sched.render(12 * 3600.0, 64, 48)) / 3072
    midnight = sum(sched.render(0.0, 64, 48)) / 3072
    assert midnight < 25 < 80 < noon
