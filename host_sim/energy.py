"""Energy model of an ESP32-CAM board: current by state, integrated over virtual time.

Every figure is a (low, central, high) triple with its published source (docs/POWER.md
lists them; `SOURCES` names them). The simulation runs with the central figures; bench
power re-prices the same run's state times and event counts with the low and high ones.

Deep sleep is not one number: the board variant (`BOARDS`) and the pads in deep sleep decide
it. The camera is powered down only when the variant has a camera power-down line and that
pad is held at its power-down level through deep sleep (host_sim/hw/pins.py models the
hold); otherwise the sensor stays powered and the board draws what dimhoff measured "without
camera power down" (20-25 mA). The regulator's quiescent current, the SD card (present or
not) and a flash LED held on are added. Light sleep (`light_sleep_ma`) is that deep-sleep
figure with the chip's light-sleep current in place of its deep-sleep one.
`EnergyModel.account(seconds, state)` adds time and charge; `report()` gives mAh per state
and each state's share.
"""
from __future__ import annotations

from typing import Optional

SOURCES = {
    "dimhoff": "dimhoff/ESP32-CAM_Interval doc/power_consumption.md (AI-Thinker ESP32-CAM, "
               "AMS1117 removed, 3.3 V fed by a Silicon Labs energy monitor, Intenso 8 GB SD "
               "card inserted; averages over 5 min of 30 s intervals)",
    "cicciocb": "cicciocb.com forum 'Sleep mode on ESP32-Cam' (AndyGadget, 2021-10-07): stock "
                "board, no SD card: 190 mA operational, 440 mA with flash, 110 mA WiFi modem "
                "sleep, 4.4 mA deep sleep; with an SD card 25 mA deep sleep",
    "time4ee": "time4ee.com 'How to decrease the deep-sleep current of ESP32-CAM' (2020-02-28): "
               "the AMS1117 measured ~1.5 mA quiescent (datasheet 5 mA typ., 10 mA max.); "
               "AP7361C 60 uA",
    "esp32-ds": "Espressif ESP32 datasheet, RF power-consumption table: TX 802.11b 1 Mbps "
                "19.5 dBm 240 mA; RX 95-100 mA",
    "nrollo": "NRollo/ESP32CamTimeLapse README: 'the SD card uses ~300 uA in standby'",
    "esp32-modes": "Espressif ESP32 datasheet, 'Power Consumption by Power Modes' table (as "
                   "in the ESP-WROOM-32 user manual, table 5): light sleep 0.8 mA; deep sleep "
                   "with the RTC timer and RTC memory 10 uA",
    "esp32s-light": "dzen.ru measurement of an ESP32-S module at 3.3 V, WiFi and BT off: light "
                    "sleep 1560 uA with a timer or a GPIO wake, deep sleep 3-4 uA",
    "estimate": "an estimate (no published measurement found); the reason is given with it",
}

# Deep sleep of each board variant, SD card inserted (dimhoff's set-up), regulator excluded.
# "cam_off": the camera powered down by its pin held through deep sleep; "cam_on": not.
BOARDS = {
    "ai-thinker": {
        "name": "AI-Thinker ESP32-CAM, stock",
        # GPIO32 drives CAM_PWR (Q2 switches the camera's 1.2/2.8 V regulators; the sensor's
        # own PWDN is tied low by R3): dimhoff test 3 "WITH_EVIL_CAM_PWR_SHUTDOWN", 4.02 mA
        # (+-0.11)
        "pwdn": 32, "pwdn_level": 1,
        "sleep_cam_off_ma": (3.91, 4.02, 4.13),
        "sleep_cam_on_ma": (20.13, 22.5, 24.93),  # dimhoff test 1L / 1H
        "regulator": "AMS1117", "regulator_ma": (1.5, 1.5, 5.0),  # time4ee measured; datasheet typ.
    },
    "ai-thinker-mod": {
        "name": "AI-Thinker ESP32-CAM, modified (R3 removed, PWDN wired to GPIO32, R11 removed, "
                "R14 pull-down, AMS1117 replaced by a low-quiescent LDO)",
        # dimhoff test 5 (PWDN held high, resistor mods) 1.41 mA (+-0.01); test 2 (PWDN only,
        # no resistor mods) 1.79 mA as the high figure
        "pwdn": 32, "pwdn_level": 1,
        "sleep_cam_off_ma": (1.40, 1.41, 1.79),
        "sleep_cam_on_ma": (20.13, 22.5, 24.93),  # dimhoff test 1: camera not powered down
        "regulator": "AP7361C", "regulator_ma": (0.06, 0.06, 0.06),  # time4ee (datasheet)
    },
}
# an idle SD card: dimhoff measured 0.07 mA ("differs per card"); NRollo ~0.3 mA
SD_IDLE_MA = (0.07, 0.07, 0.3)

# The chip in light sleep (machine.lightsleep: CPUs clock-gated, RAM kept, radio off): the
# datasheet's 0.8 mA (esp32-modes) low and central; high: 1.56 mA measured on a module
# (esp32s-light), raised to 2.0 mA (estimate: the ESP32-CAM's PSRAM and flash stay powered in
# light sleep, not in deep sleep). The board's other parts draw as in deep sleep (`BOARDS`:
# the camera powered down by its held pin or not, regulator, SD card), whose figures include
# the chip's deep-sleep current (CHIP_DEEP_SLEEP_MA, esp32-modes), replaced here.
CHIP_LIGHT_SLEEP_MA = (0.8, 0.8, 2.0)
CHIP_DEEP_SLEEP_MA = 0.01

# Awake states (whole board).
AWAKE = {
    # camera + CPU + SD writes, radio off: dimhoff "Active" 82.0-88.2 mA (no WiFi, no
    # regulator); high: the board with its AMS1117 and a busier SD card (estimate: +30 mA)
    "awake": (82.0, 85.0, 120.0),
    # radio on: cicciocb 190 mA operational (stock board, no SD); low: cicciocb 110 mA in
    # modem sleep; high: datasheet TX 240 mA + camera (estimate: 260 mA while sending)
    "awake_wifi": (110.0, 190.0, 260.0),
    # added while the flash/IR LED is lit: cicciocb 440 - 190 = 250 mA
    "flash_led": (250.0, 250.0, 250.0),
}

# Costs the simulator does not spend as virtual time, charged per counted event (seconds
# at the awake current of that phase).
PER_EVENT_S = {
    # boot, imports and the firmware's own work beyond the simulated `boot_time` (0.5 s),
    # which host_sim runs in no virtual time: 0.135 s (glenn20/upy-esp32-experiments: 635
    # ms from wake to deep sleep in a minimal main.py, ESP32-S3) + the work `python -m bench
    # wake` measures for a whole wake (bench/wake_whole.py, real MicroPython unix port,
    # .mpy) x the pystone ratio to an ESP32 (157 / 175 / 194 + 0.2 s of flash reads;
    # docs/POWER.md): a timer wake with nothing to do 12.1 ms here
    "boot": (1.4, 2.25, 2.7),
    # a PIR wake: the same with the first shot, the burst's saves, the capture service and
    # the network half built (21.0 ms here; the look window's detector work is not in it:
    # it overlaps the wait for the next frame)
    "boot_pir": (2.8, 3.8, 4.4),
    # camera init beyond the simulated fixed driver delays (~0.08 s): 0.5-0.9 s measured
    # for esp_camera_init on esp-who/esp32-camera (as issue 21 quotes)
    "camera_init": (0.42, 0.62, 0.82),
    # TLS handshake beyond the simulated 1.0 s + 2 RTT: 1.2-2.5 s published per handshake
    # (micropython-esp32#131: 1.18-1.28 s; issue 21: up to 2.5 s with a longer chain)
    "tls": (0.2, 0.5, 1.5),
}

# The battery (bench power): every triple is (pessimistic, central, optimistic).
BATTERY = {
    # share of the rated capacity the survey can use (estimate: the firmware stops PIR
    # wakes below power.critical_pct = 10 %, so 0.90 central; 0.80 for a pack that delivers
    # less than its rating; 0.95 for a cell that delivers its rating and a lower tier)
    "usable": (0.80, 0.90, 0.95),
    # Li-ion self-discharge per month: Battery University BU-802b: 1-2 % a month after the
    # first day, +3 % a month with a protection circuit (5 % pessimistic, 2.5 % central)
    "self_discharge_month": (0.05, 0.025, 0.01),
    # capacity delivered at the site's temperature (estimate: 1.0 at 20 C; 0.8 for a cold
    # site near 0 C, where a Li-ion cell delivers noticeably less)
    "temperature": (0.8, 1.0, 1.0),
}

STOCK_SLEEP_MA = BOARDS["ai-thinker"]["sleep_cam_off_ma"][1] + 1.5 + 0.0
MODIFIED_SLEEP_MA = BOARDS["ai-thinker-mod"]["sleep_cam_off_ma"][1] + 0.06
LOW, CENTRAL, HIGH = 0, 1, 2


def sleep_ma(variant: str, cam_powered: bool, sd_card: bool = True, led_on: bool = False,
             which: int = CENTRAL) -> float:
    """Deep-sleep current of `variant` with the camera powered or not, an SD card or none,
    the flash LED held on or not."""
    row = BOARDS[variant]
    ma = row["sleep_cam_on_ma" if cam_powered else "sleep_cam_off_ma"][which]
    ma += row["regulator_ma"][which]
    if not sd_card:
        ma -= SD_IDLE_MA[CENTRAL]  # dimhoff's figures include his card's 0.07 mA
    elif which == HIGH:
        ma += SD_IDLE_MA[HIGH] - SD_IDLE_MA[CENTRAL]
    if led_on:
        ma += AWAKE["flash_led"][which]
    return ma


def light_sleep_ma(variant: str, cam_powered: bool, sd_card: bool = True,
                   which: int = CENTRAL) -> float:
    """Light-sleep current of `variant`: its deep-sleep figure with the pads as they are
    (camera powered or not; a lit LED is charged apart, as flash_led) with the chip's
    light-sleep current in place of its deep-sleep one."""
    return (sleep_ma(variant, cam_powered, sd_card, False, which)
            + CHIP_LIGHT_SLEEP_MA[which] - CHIP_DEEP_SLEEP_MA)


def floor_ma(variant: str, sd_card: bool = True, which: int = CENTRAL) -> float:
    """The hardware's floor: deep sleep with the camera powered down, LED off."""
    return sleep_ma(variant, False, sd_card, False, which)


class EnergyModel:
    def __init__(self, table: Optional[dict] = None, *, modified_board: bool = False,
                 variant: Optional[str] = None, sd_card: bool = True) -> None:
        self.variant = variant or ("ai-thinker-mod" if modified_board else "ai-thinker")
        if self.variant not in BOARDS:
            raise ValueError("unknown board variant %r (one of %s)"
                             % (self.variant, ", ".join(sorted(BOARDS))))
        self.sd_card = sd_card
        self.table = {k: v[CENTRAL] for k, v in AWAKE.items()}
        self.table["deep_sleep"] = floor_ma(self.variant, sd_card)
        self.table["deep_sleep_cam_on"] = sleep_ma(self.variant, True, sd_card)
        self.table["deep_sleep_led_on"] = AWAKE["flash_led"][CENTRAL]  # added, as awake
        self.table["light_sleep"] = light_sleep_ma(self.variant, False, sd_card)
        self.table["light_sleep_cam_on"] = light_sleep_ma(self.variant, True, sd_card)
        self.table["off"] = 0.0
        if table:
            self.table.update(table)
        self.seconds: dict[str, float] = {k: 0.0 for k in self.table}
        self.mah: dict[str, float] = {k: 0.0 for k in self.table}
        self.events: dict[str, int] = {k: 0 for k in PER_EVENT_S}

    def current(self, state: str) -> float:
        return self.table[state]

    def account(self, seconds: float, state: str) -> float:
        """Add `seconds` in `state`; returns the mAh drawn."""
        mah = self.table[state] * seconds / 3600.0
        self.seconds[state] += seconds
        self.mah[state] += mah
        return mah

    def count(self, event: str, n: int = 1) -> float:
        """Count a per-event cost (PER_EVENT_S); returns the mAh it draws (central)."""
        self.events[event] += n
        state = "awake_wifi" if event == "tls" else "awake"
        mah = PER_EVENT_S[event][CENTRAL] * n * self.table[state] / 3600.0
        key = "event_" + event
        self.seconds.setdefault(key, 0.0)
        self.mah[key] = self.mah.get(key, 0.0) + mah
        return mah

    @property
    def total_mah(self) -> float:
        return sum(self.mah.values())

    def report(self) -> dict:
        total = self.total_mah or 1.0
        return {"total_mah": round(self.total_mah, 3),
                "variant": self.variant, "sd_card": self.sd_card,
                "events": dict(self.events),
                "by_state": {k: {"seconds": round(self.seconds.get(k, 0.0), 1),
                                 "mah": round(self.mah[k], 3),
                                 "share": round(self.mah[k] / total, 3)}
                             for k in sorted(self.mah) if self.mah[k]}}

    def battery_days(self, mah_per_day: float, capacity_mah: float) -> float:
        return capacity_mah / mah_per_day if mah_per_day > 0 else float("inf")


# --- pricing a run's state times with the low / central / high figures -----------------------
CAPACITY_MAH = 7000  # the pack bench power and the fleet summary price against (2 x 3500 mAh)
AWAKE_STATES = ("awake", "awake_wifi", "flash_led")


def price(seconds: dict, events: dict, variant: str, which: int, sd_card: bool = True) -> dict:
    """mAh by part for `seconds` per state and `events` counts (e.g. per day), with the
    `which` (LOW/CENTRAL/HIGH) current figures."""
    s, ev = seconds, events
    parts = {
        "deep_sleep": s.get("deep_sleep", 0) * floor_ma(variant, sd_card, which) / 3600,
        "deep_sleep_cam_on": s.get("deep_sleep_cam_on", 0) * sleep_ma(variant, True, sd_card,
                                                                       False, which) / 3600,
        "deep_sleep_led_on": s.get("deep_sleep_led_on", 0) * AWAKE["flash_led"][which] / 3600,
        # firmware-chosen (the Sleeper's wait for the PIR to fall): not the sleep floor
        "light_sleep": s.get("light_sleep", 0) * light_sleep_ma(variant, False, sd_card,
                                                                which) / 3600,
        "light_sleep_cam_on": s.get("light_sleep_cam_on", 0) * light_sleep_ma(
            variant, True, sd_card, which) / 3600,
    }
    for k in AWAKE_STATES:
        parts[k] = s.get(k, 0) * AWAKE[k][which] / 3600
    for k, per in PER_EVENT_S.items():
        state = "awake_wifi" if k == "tls" else "awake"
        parts["event_" + k] = ev.get(k, 0) * per[which] * AWAKE[state][which] / 3600
    return parts


def battery_days(mah_per_day: float, case: int, capacity_mah: float = CAPACITY_MAH) -> float:
    """Days on `capacity_mah`: usable share x temperature factor, less self-discharge.
    `case` LOW takes the pessimistic battery figures, HIGH the optimistic ones."""
    usable = capacity_mah * BATTERY["usable"][case] * BATTERY["temperature"][case]
    self_mah_day = capacity_mah * BATTERY["self_discharge_month"][case] / 30.0
    return usable / (mah_per_day + self_mah_day)


def days_range(model: "EnergyModel", days: float, capacity_mah: float = CAPACITY_MAH) -> dict:
    """Battery days low / central / high for what `model` counted over `days` simulated days:
    low = the high currents and the pessimistic battery, high = the reverse (as bench
    power). Network pricing beyond the simulated radio time is bench power's alone."""
    days = max(days, 1e-9)
    sec = {k: v / days for k, v in model.seconds.items()}
    ev = {k: v / days for k, v in model.events.items()}
    out = {"capacity_mah": capacity_mah}
    for name, cur, bat in (("low", HIGH, LOW), ("central", CENTRAL, CENTRAL),
                           ("high", LOW, HIGH)):
        mah = sum(price(sec, ev, model.variant, cur, model.sd_card).values())
        out[name] = round(battery_days(mah, bat, capacity_mah), 1)
    return out
