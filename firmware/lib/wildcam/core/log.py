"""Levelled logging to the console and to a bounded ring of files on flash.

Guarantees:
- Logging never raises into the caller for an I/O problem (a full or failing flash drops
  lines and counts them in `dropped`); only a power cut (BaseException) passes through.
- Flash use is bounded: `files` files of at most `file_bytes` each under `folder`; the
  oldest file is overwritten when the ring turns. Lines are buffered in RAM (at most
  `buffer_bytes`) and written in one append, errors at once, to spare the flash.
- The ring survives reboots: each file starts with a `#wildcam-log seq=N` header, and the
  newest sequence number tells where to continue.
"""

import sys
import time

from micropython import const

DEBUG = const(10)
INFO = const(20)
WARNING = const(30)
ERROR = const(40)

LEVELS = {"debug": DEBUG, "info": INFO, "warning": WARNING, "error": ERROR}
_LETTER = {DEBUG: "D", INFO: "I", WARNING: "W", ERROR: "E"}
_HEADER = "#wildcam-log seq="


class Logger:
    """A named view of a `Log` (one per module or service)."""

    def __init__(self, log, name):
        self._log = log
        self.name = name

    def debug(self, msg, *args):
        self._log.write(DEBUG, self.name, msg, args)

    def info(self, msg, *args):
        self._log.write(INFO, self.name, msg, args)

    def warning(self, msg, *args):
        self._log.write(WARNING, self.name, msg, args)

    def error(self, msg, *args):
        self._log.write(ERROR, self.name, msg, args)

    def exc(self, e, msg, *args):
        """Log `msg` at ERROR with the exception's traceback."""
        self._log.write_exc(self.name, e, msg, args)


class Log:
    def __init__(self, storage=None, folder="/log", files=4, file_bytes=16384, level=INFO,
                 console=True, buffer_bytes=1024, clock=None):
        self._st = storage
        self._dir = folder
        self._n = files
        self._max = file_bytes
        self.level = level
        self.console = console
        self._buf_max = buffer_bytes
        self._clock = clock  # () -> unix seconds or None
        self._boot_ms = time.ticks_ms()
        self._buf = []
        self._pending = 0
        self._index = 0
        self._seq = 0
        self._size = 0
        self.dropped = 0
        self.bytes_written = 0
        self.counts = {DEBUG: 0, INFO: 0, WARNING: 0, ERROR: 0}
        if storage is not None:
            self._find_current()

    def get(self, name):
        return Logger(self, name)

    def _path(self, i):
        return "%s/%d.log" % (self._dir, i)

    def _find_current(self):
        """Continue the ring after the newest file (the one with the highest seq)."""
        try:
            self._st.makedirs(self._dir)
            best = -1
            for i in range(self._n):
                seq = self._file_seq(i)
                if seq > best:
                    best, self._index = seq, i
            if best < 0:
                self._seq = 0
                self._size = -1  # start a new file on the first flush
            else:
                self._seq = best
                self._size = self._st.size(self._path(self._index))
        except OSError:
            self._st = None  # no flash log; console only

    def _file_seq(self, i):
        try:
            with self._st.open(self._path(i), "rb") as f:
                head = f.readline(40).decode()
        except (OSError, UnicodeError):
            return -1
        if not head.startswith(_HEADER):
            return -1
        try:
            return int(head[len(_HEADER):].strip())
        except ValueError:
            return -1

    def _stamp(self):
        ts = self._clock() if self._clock else None
        if ts is None:
            return "+%d" % (time.ticks_diff(time.ticks_ms(), self._boot_ms) // 1000)
        days, rem = divmod(int(ts), 86400)
        from wildcam.core.clock import civil_from_days

        y, m, d = civil_from_days(days)
        return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (y, m, d, rem // 3600, rem // 60 % 60, rem % 60)

    def write(self, level, name, msg, args=()):
        if level < self.level:
            return
        self.counts[level] = self.counts.get(level, 0) + 1
        if args:
            try:
                msg = msg % args
            except (TypeError, ValueError):
                msg = "%s %r" % (msg, args)
        line = "%s %s %s: %s\n" % (self._stamp(), _LETTER.get(level, "?"), name, msg)
        if self.console:
            sys.stdout.write(line)
        if self._st is None:
            return
        self._buf.append(line)
        self._pending += len(line)
        if level >= ERROR or self._pending >= self._buf_max:
            self.flush()

    def write_exc(self, name, e, msg, args=()):
        import io

        s = io.StringIO()
        sys.print_exception(e, s)  # pyright: ignore[reportArgumentType]  # stub gap: MicroPython print_exception takes an io.StringIO
        self.write(ERROR, name, msg + "\n" + s.getvalue().rstrip(), args)  # pyright: ignore[reportAttributeAccessIssue]  # stub gap: io.StringIO.getvalue

    def flush(self):
        """Append buffered lines to the ring. Returns bytes written."""
        if not self._buf or self._st is None:
            return 0
        data = "".join(self._buf).encode()
        self._buf = []
        self._pending = 0
        try:
            if self._size < 0 or self._size + len(data) > self._max:
                self._rotate()
            with self._st.open(self._path(self._index), "ab") as f:
                f.write(data)
            self._size += len(data)
            self.bytes_written += len(data)
            return len(data)
        except OSError:
            self.dropped += data.count(b"\n")
            return 0

    def _rotate(self):
        if self._size >= 0:
            self._index = (self._index + 1) % self._n
        self._seq += 1
        head = ("%s%d\n" % (_HEADER, self._seq)).encode()
        with self._st.open(self._path(self._index), "wb") as f:
            f.write(head)
        self._size = len(head)
        self.bytes_written += len(head)

    def _order(self):
        """Ring file indexes, newest first."""
        pairs = [(self._file_seq(i), i) for i in range(self._n)]
        pairs = [p for p in pairs if p[0] >= 0]
        pairs.sort(reverse=True)
        return [i for _, i in pairs]

    def read(self, page=0, per_page=20):
        """One page of log lines, newest first (page 0 = the newest lines).

        Memory is bounded by `per_page` lines: files are streamed, never read whole."""
        self.flush()
        if self._st is None:
            return []
        skip = page * per_page
        out = []
        for i in self._order():
            n = self._count_lines(i)
            if skip >= n:
                skip -= n
                continue
            # lines of this file, newest first, are n-1 .. 0; we need [n-1-skip, ...]
            last = n - 1 - skip
            first = max(0, last - (per_page - len(out)) + 1)
            chunk = self._lines(i, first, last)
            chunk.reverse()
            out.extend(chunk)
            skip = 0
            if len(out) >= per_page:
                break
        return out

    def _count_lines(self, i):
        n = -1  # the header does not count
        with self._st.open(self._path(i), "rb") as f:
            while f.readline():
                n += 1
        return max(n, 0)

    def _lines(self, i, first, last):
        out = []
        with self._st.open(self._path(i), "rb") as f:
            f.readline()
            k = 0
            while k <= last:
                line = f.readline()
                if not line:
                    break
                if k >= first:
                    try:
                        out.append(line.decode().rstrip("\n"))
                    except UnicodeError:
                        out.append(repr(line))
                k += 1
        return out
