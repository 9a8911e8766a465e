"""How a destination says an attempt failed.

`Retry`: try again later (network trouble, timeouts, 5xx, 429); `after_ms` carries a
server's Retry-After. `Permanent`: this item will never be accepted as it is (400, 403
signature mismatch, missing or damaged media); it goes to the dead-letter ring with the
message, so a person can see what the server said.
"""


class Retry(Exception):
    def __init__(self, msg, after_ms=0):
        super().__init__(msg)
        self.after_ms = after_ms


class Permanent(Exception):
    pass
