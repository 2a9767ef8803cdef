"""Zeroconf (mDNS) announcement of `_wyoming._tcp.local.`, so Home Assistant discovers the server by itself.

wyoming ships `HomeAssistantZeroconf` for this. It is not used here for four reasons: it does not wait for the
registration, so a failure surfaces nowhere; it never unregisters, so Home Assistant keeps a stale entry until the
record's TTL runs out; its SRV record points at the service name, for which a lookup finds no address; and
importing it without the zeroconf package logs a FATAL line. The service type, the name (`NAME._wyoming._tcp.local.`)
and the choice of address (the interface that routes to the mDNS group) are the same.
zeroconf is an optional extra (`pip install 'wakeword[zeroconf]'`); only `--zeroconf` needs it.
"""
from __future__ import annotations

import importlib.util
import ipaddress
import socket
from typing import Any

SERVICE_TYPE = "_wyoming._tcp.local."
MDNS_GROUP = "224.0.0.251"


def available() -> bool:
    return importlib.util.find_spec("zeroconf") is not None


def local_address(host: str) -> str:
    """The IPv4 address to announce: the listening host if it is one, else the one that routes to the mDNS group."""
    try:
        ip = ipaddress.ip_address(host)
        if ip.version == 4 and not ip.is_unspecified:
            return host
    except ValueError:
        pass
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((MDNS_GROUP, 1))  # no packet is sent: this only picks the route
        return s.getsockname()[0]


class Announcement:
    """A registered service; `close()` withdraws it (a goodbye packet) before the server exits."""

    def __init__(self, zeroconf: Any, info: Any) -> None:
        self._zc, self.info = zeroconf, info

    @property
    def name(self) -> str:
        return str(self.info.name)

    async def close(self) -> None:
        try:
            await self._zc.async_unregister_service(self.info)
        finally:
            await self._zc.async_close()


async def announce(name: str, port: int, host: str) -> Announcement:
    """Register NAME._wyoming._tcp.local. at the address for `host` and `port`; a clash gets a numbered name.
    Raises OSError when there is no network to announce on."""
    from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

    address = local_address(host)
    # The SRV record's target is this host's own mDNS name, as for any service. wyoming leaves it at the service
    # name, and then a lookup (zeroconf 0.154) gets the port but no address: measured here, by tests/test_wyoming.py.
    target = f"{socket.gethostname().split('.')[0] or 'wakeword'}.local."
    info = AsyncServiceInfo(SERVICE_TYPE, f"{name}.{SERVICE_TYPE}", addresses=[socket.inet_aton(address)], port=port,
                            server=target)
    zc = AsyncZeroconf()
    try:
        await (await zc.async_register_service(info, allow_name_change=True))
    except BaseException:
        await zc.async_close()
        raise
    return Announcement(zc, info)
