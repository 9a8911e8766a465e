"""How a destination says an attempt failed.

`Retry`: try again later (network trouble, timeouts, 5xx, 429); `after_ms` carries a
server's Retry-After. `Refused` (a Retry): the destination refused our credentials (401;
403 SignatureDoesNotMatch, InvalidAccessKeyId, AuthenticationFailed, an expired SAS or
token...): no fault of the item, so it stays queued and the destination is tried again
after `REFUSED_RETRY_MS` until the secret is fixed (a wrong or rotated key must not
dead-letter a season of images). `Permanent`: this item will never be accepted as it is
(400, an access policy's 403 AccessDenied, missing or damaged media); it goes to the
dead-letter ring with the message, so a person can see what the server said.
"""

REFUSED_RETRY_MS = 600000  # a wrong secret costs one request per destination per 10 min


class Retry(Exception):
    def __init__(self, msg, after_ms=0):
        super().__init__(msg)
        self.after_ms = after_ms


class Refused(Retry):
    def __init__(self, msg, after_ms=REFUSED_RETRY_MS):
        super().__init__(msg, after_ms)


class Permanent(Exception):
    pass
