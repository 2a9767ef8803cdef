"""`wakeword serve --uri tcp://0.0.0.0:10400 [--model ...] [--zeroconf [NAME]] [--config FILE]`.

Loads the models once (a bad model or card fails here, before anything listens), listens with wyoming's own
AsyncTcpServer/AsyncUnixServer and one WakeHandler per connection, optionally announces itself over zeroconf, and
runs until SIGTERM/SIGINT. Under systemd (Type=notify) it sends READY=1 once it listens, WATCHDOG=1 from the event
loop (so a wedged loop gets restarted) and STOPPING=1 on the way out. Settings come from the config file's
`models`, `detector`, `flex_delegate`, `logging` and `wyoming` sections; flags override them.
"""
from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import os
import signal
import socket
import stat
import sys
from functools import partial

from wyoming.server import AsyncServer, AsyncTcpServer, AsyncUnixServer

from ..config import Config, load_config
from ..errors import WakewordError
from ..sdnotify import Notifier
from . import announce
from .handler import WakeHandler
from .models import ModelSet
from .uri import ListenUri, parse_uri, zeroconf_name_ok

log = logging.getLogger("wakeword.serve")


class ServeError(WakewordError):
    """The server cannot start: a bad address, an address in use, zeroconf asked for but unavailable."""


def build_config(args) -> Config:
    """The config file (if any) with the command-line flags applied on top."""
    cfg = load_config(args.config) if args.config else Config()
    wy = cfg.wyoming
    if args.uri is not None:
        wy = dataclasses.replace(wy, uri=args.uri)
    if args.zeroconf is not None:
        wy = dataclasses.replace(wy, zeroconf=args.zeroconf)
    cfg = dataclasses.replace(cfg, wyoming=wy, models=args.model or cfg.models,
                              flex_delegate=args.flex_delegate or cfg.flex_delegate)
    if args.threshold is not None:
        cfg = dataclasses.replace(cfg, detector={**cfg.detector, "threshold": args.threshold})
    return cfg


def run(args) -> int:
    cfg = build_config(args)
    try:
        uri = parse_uri(cfg.wyoming.uri)
    except ValueError as e:
        raise ServeError(f"--uri {e}") from None
    name = cfg.wyoming.zeroconf
    if name is not None and not zeroconf_name_ok(name):
        raise ServeError(f"--zeroconf {name!r}: the name to announce must be 1-63 bytes without dots")
    if name and uri.scheme != "tcp":
        raise ServeError(f"zeroconf announces a TCP port; it needs a tcp:// URI, not {uri}")
    if name and not announce.available():
        raise ServeError("zeroconf needs the zeroconf package: pip install 'wakeword[zeroconf]'")
    logging.basicConfig(level=cfg.logging.level, format="wakeword: %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    models = ModelSet(cfg.models or None, cfg.detector, cfg.flex_delegate)
    return asyncio.run(_serve(uri, name, models))


async def _serve(uri: ListenUri, zeroconf_name: str | None, models: ModelSet) -> int:
    server = await listen(uri, models)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    notifier = Notifier()
    ad = None
    if zeroconf_name:
        try:
            ad = await announce.announce(zeroconf_name, uri.port, uri.host)
            log.info("announced over zeroconf as %s", ad.name)
        except Exception as e:  # no network yet, say: still reachable by its address, so keep serving
            log.error("cannot announce over zeroconf (%s); serving without it", getattr(e, "strerror", None) or e)
    log.info("serving %s on %s", ", ".join(models.names), uri)
    notifier.notify(f"READY=1\nSTATUS=serving on {uri}")
    watchdog = notifier.watchdog_interval()
    pinger = asyncio.create_task(_watchdog(notifier, watchdog)) if watchdog else None
    try:
        await stop.wait()
    finally:
        notifier.notify("STOPPING=1")
        if pinger:
            pinger.cancel()
        if ad is not None:
            try:
                await ad.close()
            except Exception as e:  # the network went first: Home Assistant will drop the entry at its TTL
                log.warning("cannot withdraw the zeroconf announcement (%s)", e)
        await server.stop()
    log.info("stopped")
    return 0


async def _watchdog(notifier: Notifier, interval: float) -> None:
    while True:
        notifier.notify("WATCHDOG=1")
        await asyncio.sleep(interval)


async def listen(uri: ListenUri, models: ModelSet) -> AsyncServer:
    """Bind and start accepting; ServeError (one line) when the address cannot be used."""
    server: AsyncServer
    if uri.scheme == "unix":
        _check_unix_path(uri)
        server = AsyncUnixServer(uri.path)
    else:
        server = AsyncTcpServer(uri.host, uri.port)
    try:
        await server.start(partial(WakeHandler, models=models))
    except socket.gaierror as e:
        raise ServeError(f"cannot listen on {uri}: unknown host ({e.strerror})") from None
    except OSError as e:
        reason = "address in use" if e.errno == errno.EADDRINUSE else (e.strerror or str(e)).lower()
        raise ServeError(f"cannot listen on {uri}: {reason}") from None
    return server


def _check_unix_path(uri: ListenUri) -> None:
    """wyoming's unix server unlinks whatever is at its path before binding: allow that only for a stale socket,
    never for a regular file or a socket another server is listening on."""
    try:
        mode = os.lstat(uri.path).st_mode
    except FileNotFoundError:
        return
    except OSError as e:
        raise ServeError(f"cannot listen on {uri}: {(e.strerror or str(e)).lower()}") from None
    if not stat.S_ISSOCK(mode):
        raise ServeError(f"cannot listen on {uri}: {uri.path} exists and is not a socket")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(uri.path)
        except OSError:
            return  # nobody listens: a stale socket from an earlier run
    raise ServeError(f"cannot listen on {uri}: address in use")
