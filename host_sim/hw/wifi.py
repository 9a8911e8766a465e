"""The WiFi world one board sees (access point, credentials, outages, RSSI) and the state of
its station interface. Status is computed lazily from virtual time, so outages cost nothing
while nobody looks."""
from __future__ import annotations

import bisect
import math
from typing import List, Tuple

from .. import constants as C


class WifiModel:
    """The access point as this board sees it.

    outcome: "ok" | "wrong_password" | "no_ap" (scripted result of every connect).
    Outage windows are (start, end) in seconds since the simulation start; `set_link(False)`
    drops the link now until `set_link(True)` (the fleet's switch).
    """

    def __init__(self, ssid: str = "wildnet", password: str = "wildpass", *, rssi: int = -62,
                 rssi_swing: int = 0, connect_time: float = 2.5, outcome: str = "ok",
                 outages=(), channel: int = 6) -> None:
        self.ssid = ssid
        self.password = password
        self.rssi = rssi
        self.rssi_swing = rssi_swing
        self.connect_time = connect_time
        self.outcome = outcome
        self.channel = channel
        self.clock = None  # set by the Board
        self._outages: List[Tuple[float, float]] = []
        self._flips: List[Tuple[float, bool]] = []
        for s, e in outages:
            self.outage(s, e)

    def outage(self, start: float, end: float) -> None:
        """AP unreachable from `start` to `end` (seconds since the simulation start)."""
        bisect.insort(self._outages, (float(start), float(end)))

    def set_link(self, up: bool) -> None:
        self._flips.append((self.clock.now if self.clock else 0.0, bool(up)))

    def _flag_up(self, t: float) -> Tuple[bool, float]:
        up, since = True, 0.0
        for when, state in self._flips:
            if when > t:
                break
            if state != up:
                up, since = state, when
        return up, since

    def ap_up(self, t: float) -> bool:
        if not self._flag_up(t)[0]:
            return False
        return not any(s <= t < e for s, e in self._outages)

    def up_since(self, t: float) -> float:
        """Start of the current up period (valid when ap_up(t))."""
        since = self._flag_up(t)[1]
        for s, e in self._outages:
            if e <= t:
                since = max(since, e)
        return since

    def rssi_at(self, t: float) -> int:
        return int(round(self.rssi + self.rssi_swing * math.sin(t / 97.0)))


class StaState:
    """Station interface of one boot (reset at every reboot)."""

    def __init__(self, model: WifiModel) -> None:
        self.model = model
        self.active = False
        self.requested = False
        self.ssid = None
        self.key = None
        self.started = 0.0
        self.connects = 0

    def connect(self, ssid, key, now: float) -> None:
        self.requested = True
        self.ssid, self.key = ssid, key
        self.started = now
        self.connects += 1

    def disconnect(self) -> None:
        self.requested = False

    def status(self, t: float) -> int:
        m = self.model
        if not self.active or not self.requested:
            return C.STAT_IDLE
        settled = t - self.started >= m.connect_time
        if self.ssid != m.ssid or m.outcome == "no_ap":
            return C.STAT_NO_AP_FOUND if settled else C.STAT_CONNECTING
        if self.key != m.password or m.outcome == "wrong_password":
            return C.STAT_WRONG_PASSWORD if settled else C.STAT_CONNECTING
        if not m.ap_up(t):
            return C.STAT_NO_AP_FOUND if settled else C.STAT_CONNECTING
        ready = max(self.started, m.up_since(t)) + m.connect_time
        return C.STAT_GOT_IP if t >= ready else C.STAT_CONNECTING

    def isconnected(self, t: float) -> bool:
        return self.status(t) == C.STAT_GOT_IP
