"""The board's configuration: `/config.json` plus secrets apart in `/secrets.json`.

Guarantees:
- `load()` never raises for bad files: a missing, corrupt or invalid file gives messages in
  `errors` and safe defaults (or the last good config); the board still boots.
- Nothing a person wrote is lost: unknown or invalid values are reported and kept in the
  file; an unreadable file is copied to `<path>.broken` before it is first replaced.
- Saves are atomic (`Storage.write_atomic`): a power cut at any byte leaves the old or the
  new file. Unchanged files are not rewritten (flash wears out).
- Secret values (schema flag S) live only in the secrets file, are moved there if found in
  the config file, and are never shown by `repr`, `show`, `as_dict` or error messages.
"""

import json

from wildcam.core import jsonutil, schema
from wildcam.core import validate as rules  # `validate` is a REPL helper name below

CONFIG_PATH = "/config.json"
SECRETS_PATH = "/secrets.json"
GOOD_PATH = "/config.good.json"
MASK = "***"


class ConfigError(ValueError):
    """A rejected change; `errors` lists every problem, one sentence each."""

    def __init__(self, errors):
        super().__init__("; ".join(errors))
        self.errors = errors


class Config:
    def __init__(self, storage, path=CONFIG_PATH, secrets_path=SECRETS_PATH):
        self._st = storage
        self.path = path
        self.secrets_path = secrets_path
        self._values = {}  # valid, explicitly set, non-secret
        self._secrets = {}  # valid, explicitly set, secret
        self._kept = {}  # unknown or invalid values: reported, kept in the file, not used
        self._disk = {}  # path -> text last read/written (skip identical writes)
        self._broken = {}  # path -> raw bytes of an unreadable file not yet preserved
        self.errors = []
        self.notes = []
        self.source = "defaults"

    # --- loading --------------------------------------------------------------------------
    def _read(self, path):
        """(flat dict or None, version, error message or None)."""
        raw = self._st.read_atomic(path)
        if raw is None:
            return None, 0, None
        try:
            text = raw.decode()
            doc = json.loads(text)
            if not isinstance(doc, dict):
                raise ValueError("top level is not an object")
        except (ValueError, UnicodeError) as e:
            self._broken[path] = raw
            return None, 0, "%s: not a valid JSON object (%s); keeping it as %s.broken" % (
                path, e, path)
        self._disk[path] = text
        version = doc.pop("version", 1)
        return jsonutil.flatten(doc), version, None

    def load(self):
        """Read config and secrets; returns self. See `errors`, `notes`, `source`."""
        self.__init__(self._st, self.path, self.secrets_path)
        flat, version, err = self._read(self.path)
        self.source = "file"
        if err:
            self.errors.append(err)
            flat, version, gerr = self._read(GOOD_PATH)
            self.source = "last good config" if flat is not None else "defaults"
            if flat is not None:
                self.notes.append("using the last good config from %s" % GOOD_PATH)
        elif flat is None:
            self.source = "defaults"
            self.notes.append("%s not found: using defaults" % self.path)
        flat = flat or {}
        dirty = False
        if version != schema.VERSION and flat:
            from wildcam.core import migrate  # only an older file needs it (not every wake)

            flat = migrate.migrate(flat, version, self.notes)
            dirty = version < schema.VERSION
        sflat, _, serr = self._read(self.secrets_path)
        if serr:
            self.errors.append(serr)
        sflat = sflat or {}
        for key in sorted(flat):
            if schema.is_secret(key):
                if key not in sflat:
                    sflat[key] = flat[key]
                self.notes.append("%s moved to %s" % (key, self.secrets_path))
                dirty = True
            else:
                self._accept(key, flat[key], False)
        for key in sorted(sflat):
            if not schema.is_secret(key):
                self.errors.append("%s: not a secret; put it in %s" % (key, self.path))
                self._kept["!" + key] = sflat[key]
            else:
                self._accept(key, sflat[key], True)
        self.errors.extend(self._missing())
        if dirty and not err:
            self.save()
        return self

    def _accept(self, key, value, secret):
        msg = rules.check(key, value)
        if msg:
            self.errors.append(msg + ("; using the default" if schema.row(key) else ""))
            self._kept[key] = value
        elif secret:
            self._secrets[key] = value
        else:
            self._values[key] = value

    def _missing(self):
        return ["%s: required" % r[0] for r in schema.SCHEMA
                if r[2] is None and r[0] not in self._values]

    # --- reading --------------------------------------------------------------------------
    def get(self, key):
        """The value in force for `key` (the default when unset)."""
        r = schema.row(key)
        if r is None:
            raise KeyError(rules.check(key, None))
        if r[4] & schema.S:
            raise KeyError("%s is a secret: use config.secret(%r)" % (key, key))
        return self._values.get(key, r[2])

    def secret(self, key):
        """A secret's value for the code that needs it ("" when not set)."""
        if not schema.is_secret(key):
            raise KeyError("%s is not a secret" % key)
        return self._secrets.get(key, "")

    def is_set(self, key):
        return key in self._values or key in self._secrets

    def validate(self):
        """Every current problem, one message each (empty list: all good)."""
        errs = self._missing()
        for k, v in self._kept.items():
            if k[0] == "!":
                errs.append("%s: not a secret; put it in %s" % (k[1:], self.path))
            else:
                errs.append(rules.check(k, v))
        errs.sort()
        return errs

    # --- changing -------------------------------------------------------------------------
    def set(self, key, value, save=True):
        """Set one key (text is converted for numbers and booleans; None resets it to
        the default) and save. Raises ConfigError and changes nothing when invalid."""
        self.update({key: value}, save)

    def update(self, changes, save=True):
        """Apply {key: value} as one change: all valid, or nothing applied."""
        clean, errors = {}, []
        for key in sorted(changes):
            value = rules.parse_text(key, changes[key])
            msg = rules.check(key, value)
            if msg is None and value is None and schema.row(key)[2] is None:
                msg = "%s: required" % key
            if msg:
                errors.append(msg)
            clean[key] = value
        if errors:
            raise ConfigError(errors)
        for key in clean:
            self._kept.pop(key, None)
            target = self._secrets if schema.is_secret(key) else self._values
            if clean[key] is None:
                target.pop(key, None)
            else:
                target[key] = clean[key]
        if save:
            self.save()

    # --- writing --------------------------------------------------------------------------
    def _doc(self, secret):
        flat = dict(self._secrets if secret else self._values)
        for k, v in self._kept.items():
            if k[0] == "!":
                if secret:
                    flat[k[1:]] = v
            elif schema.is_secret(k) == secret:
                flat[k] = v
        doc = jsonutil.unflatten(flat)
        if not secret:
            doc["version"] = schema.VERSION
        return doc

    def _write(self, path, doc):
        text = jsonutil.dumps(doc, 1) + "\n"
        if self._disk.get(path) == text:
            return False
        raw = self._broken.pop(path, None)
        if raw is not None:
            self._st.write_atomic(path + ".broken", raw)
        self._st.write_atomic(path, text.encode())
        self._disk[path] = text
        return True

    def save(self):
        """Write what changed (config first, then secrets). Returns files written."""
        n = self._write(self.path, self._doc(False))
        if self._secrets or self.secrets_path in self._disk or self.secrets_path in self._broken:
            n += self._write(self.secrets_path, self._doc(True))
        return n

    def mark_good(self):
        """Remember the current config as the one to fall back to when the file is
        unreadable (called once the board has proven it works with it)."""
        if self.validate():
            return False
        text = jsonutil.dumps(self._doc(False), 1) + "\n"
        if self._st.read_atomic(GOOD_PATH) == text.encode():
            return False
        self._st.write_atomic(GOOD_PATH, text.encode())
        return True

    # --- showing --------------------------------------------------------------------------
    def as_dict(self, defaults=True):
        """Nested dict of the values in force; secrets shown as "***" when set."""
        flat = {}
        for r in schema.SCHEMA:
            key = r[0]
            if r[4] & schema.S:
                flat[key] = MASK if self._secrets.get(key) else ""
            elif key in self._values or defaults:
                flat[key] = self._values.get(key, r[2])
        return jsonutil.unflatten(flat)

    def show(self, out=print):
        """Print every key with its value; `*` marks values set in the file."""
        for key in schema.keys():
            if schema.is_secret(key):
                shown = "(set)" if self._secrets.get(key) else "(not set)"
                mark = "*" if key in self._secrets else " "
            else:
                value = self._values.get(key, schema.row(key)[2])
                shown = "(required, not set)" if value is None else jsonutil.dumps(value)
                mark = "*" if key in self._values else " "
            out("%s %-26s %s" % (mark, key, shown))
        for e in self.validate():
            out("! " + e)

    def __repr__(self):
        return "<Config %s (%s): %d set, %d secrets set, %d problems>" % (
            self.path, self.source, len(self._values), len(self._secrets), len(self.validate()))


# --- REPL helpers: `import wildcam; wildcam.config.show()` --------------------------------
# `wildcam.core.config` is this module (importing the submodule sets the package attribute), so
# the REPL helpers live here, working on the board's own config, loaded on first use.
_board = []


def _cfg():
    if not _board:
        from wildcam.core.storage import Storage

        _board.append(Config(Storage()).load())
    return _board[0]


def reload():
    """Read the board's config files again."""
    del _board[:]
    return _cfg()


def show():
    """Print every setting (secrets hidden) and every problem."""
    _cfg().show()


def get(key):
    return _cfg().get(key)


def set(key, value):  # noqa: A001 - the REPL name people expect
    """Set and save one key; prints what went wrong instead of raising. True when saved."""
    try:
        _cfg().set(key, value)
    except (ConfigError, KeyError) as e:
        for msg in getattr(e, "errors", [str(e)]):
            print("error:", msg)
        return False
    print("saved %s; takes effect at the next boot (machine.reset())" % key)
    return True


def validate():
    """Print every problem; True when there is none."""
    errs = _cfg().validate()
    for e in errs:
        print("error:", e)
    if not errs:
        print("config OK")
    return not errs
