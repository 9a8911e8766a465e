"""Numeric constants with the values of the MicroPython esp32 port (checked against
micropython-esp32-stubs 1.29), shared by the board model and the `machine`/`network` shims."""

# machine.reset_cause()
PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

# machine.wake_reason(); 0 = not woken from sleep (ESP_SLEEP_WAKEUP_UNDEFINED)
NO_WAKE = 0
PIN_WAKE = 2
EXT0_WAKE = 2
EXT1_WAKE = 3
TIMER_WAKE = 4
TOUCHPAD_WAKE = 5
ULP_WAKE = 6

# network.WLAN.status()
STAT_IDLE = 1000
STAT_CONNECTING = 1001
STAT_GOT_IP = 1010
STAT_BEACON_TIMEOUT = 200
STAT_NO_AP_FOUND = 201
STAT_WRONG_PASSWORD = 202
STAT_ASSOC_FAIL = 203
STAT_CONNECT_FAIL = 203
STAT_HANDSHAKE_TIMEOUT = 204

# errno numbers as MicroPython reports them
ENOENT = 2
EIO = 5
EEXIST = 17
EXDEV = 18
ENODEV = 19
EINVAL = 22
ENOSPC = 28
ETIMEDOUT = 110

# 2026-06-01T00:00:00Z, the default start of simulated wall time
DEFAULT_EPOCH = 1780272000
# 2000-01-01T00:00:00Z, what an RTC reads after losing power
RTC_POWERON_UNIX = 946684800
