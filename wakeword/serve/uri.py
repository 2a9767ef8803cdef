"""Where `wakeword serve` listens: `tcp://HOST:PORT` or `unix://PATH`, parsed once, with one-line errors.

Home Assistant's Wyoming integration connects over TCP (port 10400 by convention); a unix socket suits a
client on the same machine. Parsed here rather than left to wyoming's `AsyncServer.from_uri`, whose urlparse
raises only when `.port` is read and in its own words, so that a typo in `--uri` or in the config's
`wyoming.uri` is one line naming the value, and so the config loader can check it without importing the server.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_URI = "tcp://0.0.0.0:10400"
FORM = "tcp://HOST:PORT or unix://PATH"


@dataclass(frozen=True)
class ListenUri:
    scheme: str  # "tcp" or "unix"
    host: str = ""  # tcp: a host name or an IP address (IPv6 without brackets)
    port: int = 0  # tcp: 1-65535
    path: str = ""  # unix: the socket's path

    def __str__(self) -> str:
        if self.scheme == "unix":
            return f"unix://{self.path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"tcp://{host}:{self.port}"


def parse_uri(text: str) -> ListenUri:
    """`tcp://0.0.0.0:10400` → ListenUri("tcp", "0.0.0.0", 10400); ValueError (one line, naming the value) if not."""
    if not isinstance(text, str) or "://" not in text:
        raise ValueError(f"{text!r} is not a listening address; use {FORM}")
    scheme, rest = text.split("://", 1)
    if scheme == "unix":
        if not rest or "\0" in rest:
            raise ValueError(f"{text!r} names no socket path; use unix:///run/wakeword/wyoming.sock")
        return ListenUri("unix", path=rest)
    if scheme != "tcp":
        raise ValueError(f"{text!r}: scheme {scheme!r} is not supported; use {FORM}")
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = -1
    host = parts.hostname or ""
    if not host or parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{text!r} must be tcp://HOST:PORT (e.g. tcp://0.0.0.0:10400)")
    if port is None or not 1 <= port <= 65535:
        raise ValueError(f"{text!r} needs a port between 1 and 65535 (e.g. tcp://{host}:10400)")
    return ListenUri("tcp", host=host, port=port)


def zeroconf_name_ok(name: str) -> bool:
    """A zeroconf instance name: one DNS label, so 1-63 bytes of UTF-8 and no dots."""
    return isinstance(name, str) and name.strip() != "" and "." not in name and len(name.encode()) <= 63
