"""The archive key: private fields encrypted at rest, keyed hashes, and the takedowns' fingerprints.

The full archive is a file that gets copied, backed up and seized with a laptop. What would identify or
locate a protected person (the private fields: real names, contacts, precise locations, notes) and the
fingerprints that keep a taken-down testimony out are stored encrypted with Fernet (the `cryptography`
package: AES-128-CBC with an HMAC-SHA256 tag) under a key kept outside the archive; the hash that tells
whether private fields changed is an HMAC under the same key, so nobody can test a guessed real name
against it. Opened without the key, by plain `sqlite3` or Datasette, the archive shows none of them.

The key is a file: the one named by `TESTIMONY_KEY_FILE`, else `~/.config/testimony/archive.key`
(`$XDG_CONFIG_HOME` is respected). `testimony keygen` writes one, readable by its owner only. The
archive records the key's id (not the key), so a wrong key is refused instead of mixing two keys.
Losing the key loses the private fields and the fingerprints: there is no way back.
"""

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

KEY_ENV = "TESTIMONY_KEY_FILE"


class KeyProblem(Exception):
    """The archive key is missing, unreadable, or not the one this archive was written with."""


def default_key_path() -> Path:
    configured = os.environ.get(KEY_ENV)
    if configured:
        return Path(configured).expanduser()
    config_home = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(config_home) / "testimony" / "archive.key"


@dataclass(frozen=True)
class ArchiveKey:
    raw: bytes  # the Fernet key as written in the key file (urlsafe base64 of 32 bytes)
    path: Path

    @property
    def id(self) -> str:
        """A short public name for the key (an HMAC of a constant): safe to store in the archive."""
        return hmac.new(self.raw, b"testimony-archive key id", hashlib.sha256).hexdigest()[:16]

    def encrypt(self, text: str) -> str:
        return Fernet(self.raw).encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return Fernet(self.raw).decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError):
            raise KeyProblem(f"a value in the archive does not decrypt with the key at {self.path}") from None

    def mac(self, text: str) -> str:
        """A keyed hash: equal texts give equal values, and without the key nobody can compute one."""
        subkey = hmac.new(self.raw, b"testimony-archive mac", hashlib.sha256).digest()
        return hmac.new(subkey, text.encode("utf-8"), hashlib.sha256).hexdigest()


def load_key(path: Path | None = None) -> ArchiveKey | None:
    """The key at `path` (default: `default_key_path()`), or None when there is no key file."""
    path = Path(path) if path else default_key_path()
    try:
        raw = path.read_bytes().strip()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise KeyProblem(f"cannot read the archive key at {path}: {error.strerror or error}") from None
    try:
        if len(base64.urlsafe_b64decode(raw)) != 32:
            raise ValueError
    except ValueError:
        raise KeyProblem(f"{path} is not an archive key (make one with `testimony keygen`)") from None
    return ArchiveKey(raw, path)


def generate_key(path: Path | None = None) -> ArchiveKey:
    """Write a new key file, readable by its owner only; never overwrites an existing one."""
    path = Path(path) if path else default_key_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = Fernet.generate_key()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyProblem(f"there is already a key at {path}: it is never overwritten") from None
    with os.fdopen(descriptor, "wb") as out:
        out.write(raw + b"\n")
    return ArchiveKey(raw, path)


def require(key: ArchiveKey | None, why: str) -> ArchiveKey:
    """The key, or a KeyProblem that says why it is needed and how to get one."""
    if key is None:
        raise KeyProblem(
            f"{why} needs the archive key, and there is none at {default_key_path()}: create one with "
            f"`testimony keygen` (or point {KEY_ENV} at yours)"
        )
    return key
