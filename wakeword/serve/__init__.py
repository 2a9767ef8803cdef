"""`wakeword serve`: the engine as a Wyoming wake-word service, for Home Assistant (issue 19).

Home Assistant reaches wake-word engines over the Wyoming protocol (openWakeWord and microWakeWord both do, on
port 10400), so this is how "Hey SSAFY" wakes an assist pipeline without glue code. Built on the `wyoming`
package, whose event classes are the protocol's types:

    uri.py       where to listen (tcp:// or unix://), parsed with one-line errors; the config loader uses it too
    protocol.py  a bounded event reader for untrusted clients, audio format checks, PCM bytes → samples
    models.py    the models loaded once and shared: cards, the `info` answer, a pool of per-client engines
    handler.py   one client: describe/ping/detect/audio-* in, info/pong/detection/not-detected out
    announce.py  the optional zeroconf announcement of _wyoming._tcp.local.
    server.py    `wakeword serve`: config, listening, signals, systemd notifications

Nothing here is imported by the rest of the runtime (the config loader imports only uri.py).
"""
