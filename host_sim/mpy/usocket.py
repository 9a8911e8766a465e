"""MicroPython's legacy `usocket` name (micropython-lib's umqtt.simple imports it): CPython's
socket. Its socket objects gain MicroPython's stream methods (read/readinto/write) from
host_sim.patches."""
from socket import *  # noqa: F401,F403
from socket import getaddrinfo, socket  # noqa: F401
