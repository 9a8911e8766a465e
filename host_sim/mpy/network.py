"""Simulated `network` module: WLAN with scripted connect outcome, outages and RSSI
(the board's `wifi` model; status values of the esp32 port)."""
from host_sim import constants as _C
from host_sim.context import get_board as _board

STA_IF = 0
AP_IF = 1
STAT_IDLE = _C.STAT_IDLE
STAT_CONNECTING = _C.STAT_CONNECTING
STAT_GOT_IP = _C.STAT_GOT_IP
STAT_WRONG_PASSWORD = _C.STAT_WRONG_PASSWORD
STAT_NO_AP_FOUND = _C.STAT_NO_AP_FOUND
STAT_BEACON_TIMEOUT = _C.STAT_BEACON_TIMEOUT
STAT_ASSOC_FAIL = _C.STAT_ASSOC_FAIL
STAT_CONNECT_FAIL = _C.STAT_CONNECT_FAIL
STAT_HANDSHAKE_TIMEOUT = _C.STAT_HANDSHAKE_TIMEOUT
AUTH_OPEN = 0
AUTH_WPA2_PSK = 3
AUTH_WPA_WPA2_PSK = 4


def hostname(name=None, /):
    b = _board()
    if name is None:
        return getattr(b, "hostname", "wildcam-" + b.name)
    b.hostname = name


class WLAN:
    IF_STA = STA_IF
    IF_AP = AP_IF
    PM_NONE, PM_PERFORMANCE, PM_POWERSAVE = 0, 1, 2

    def __init__(self, interface_id=STA_IF, /):
        self._board = _board()
        self._if = interface_id
        self._ap_active = False

    def _sta(self):
        return self._board.sta

    def active(self, is_active=None, /):
        if self._if == AP_IF:
            if is_active is None:
                return self._ap_active
            self._ap_active = bool(is_active)
            return None
        sta = self._sta()
        if is_active is None:
            return sta.active
        self._board.account_energy()
        sta.active = bool(is_active)
        if not sta.active:
            sta.disconnect()
        return None

    def connect(self, ssid=None, key=None, /, *, bssid=None):
        sta = self._sta()
        if not sta.active:
            raise OSError("Wifi Not Started")
        sta.connect(ssid, key, self._board.now)
        self._board.counters["wifi_connects"] += 1

    def disconnect(self):
        self._sta().disconnect()

    def isconnected(self):
        if self._if == AP_IF:
            return False
        return self._sta().isconnected(self._board.now)

    def status(self, param=None, /):
        b = self._board
        if param is None:
            return self._sta().status(b.now)
        if param == "rssi":
            if not self.isconnected():
                raise OSError("STA is not connected")
            return b.wifi.rssi_at(b.now)
        if param == "stations":
            return []
        raise ValueError("unknown status param")

    def ifconfig(self, config=None, /):
        if config is not None:
            self._board.static_ip = tuple(config)
            return None
        if self.isconnected():
            cfg = getattr(self._board, "static_ip", None)
            if cfg:
                return cfg
            host = 10 + self._board.unique_id[-1] % 200
            return ("192.168.4.%d" % host, "255.255.255.0", "192.168.4.1", "192.168.4.1")
        return ("0.0.0.0", "0.0.0.0", "0.0.0.0", "0.0.0.0")

    def ipconfig(self, *a, **kw):
        if a and a[0] == "addr4":
            ip, mask = self.ifconfig()[:2]
            return ip, mask
        return None

    def config(self, param=None, /, **kwargs):
        """One positional name reads a setting; keywords set some; not both (as the esp32
        port's network_wlan_config)."""
        b = self._board
        if param is not None and kwargs:
            raise TypeError("either pos or kw args are allowed")
        if kwargs:
            for k, v in kwargs.items():
                setattr(b, "wlan_" + k, v)
            return None
        name = param
        if name is None:
            raise TypeError("can query only one param")
        if name == "mac":
            return b.unique_id
        if name in ("essid", "ssid"):
            return self._sta().ssid or ""
        if name == "channel":
            return b.wifi.channel
        if name in ("hostname", "dhcp_hostname"):
            return hostname()
        if name == "txpower":
            return getattr(b, "wlan_txpower", 20)
        if name == "pm":
            return getattr(b, "wlan_pm", self.PM_PERFORMANCE)
        return getattr(b, "wlan_" + name)

    def scan(self):
        b = self._board
        if not self._sta().active:
            raise OSError("Wifi Not Started")
        b.sim.clock.advance(1.5)  # a scan blocks for about this long
        m = b.wifi
        if not m.ap_up(b.now) or m.outcome == "no_ap":
            return []
        bssid = bytes.fromhex("c0ffee") + b.unique_id[3:]
        return [(m.ssid.encode(), bssid, m.channel, m.rssi_at(b.now), AUTH_WPA2_PSK, False)]
