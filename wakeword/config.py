"""Daemon configuration: a YAML file (default /etc/wakeword/config.yaml) validated into a tree of dataclasses.

Every mistake is a one-line `ConfigError` naming the file, the YAML line and the dotted key::

    config.yaml line 7: mqtt.port must be an integer between 1 and 65535 (got 'abc')
    config.yaml line 3: unknown key audio.devise; known keys: block_ms, channel, device, idle_ms, input, sample_rate, silence_s

Line numbers come from composing the YAML into nodes (`yaml.compose`) and walking them; values are built
from each node with PyYAML's safe constructor, so no YAML tag can run code. Relative paths in the file
(model paths, audio.input, flex_delegate, capture.dir, mqtt.password_file, mqtt.ca_certs) are taken
relative to the directory of the config file, so the daemon's working directory does not matter. A model
entry is a path when it contains '/' or ends in .tflite/.yaml/.yml (as for `--model`), else a bundled name.
See systemd/config.example.yaml for every key.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import yaml

from .errors import ConfigError
from .audio.microphone import BLOCK_S, IDLE_S, SILENCE_S
from .serve.uri import DEFAULT_URI, parse_uri, zeroconf_name_ok

if TYPE_CHECKING:  # the MQTT sink's module is loaded only for a config with an mqtt section (~0.15 MB, issue 20)
    from .sinks.mqtt import MqttConfig

DEFAULT_PATH = "/etc/wakeword/config.yaml"
DEFAULT_ZEROCONF_NAME = "wakeword"  # wyoming.zeroconf: true announces wakeword._wyoming._tcp.local.
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass
class AudioConfig:
    device: str | int | None = None  # PortAudio device name or index (None: the default input)
    input: str | None = None  # WAV file, or '-' for raw 16-bit mono PCM on stdin, instead of a microphone
    sample_rate: int | None = None  # rate of raw stdin input; None: 16000
    channel: int | None = None  # channel to use from a multi-channel device/file; None: mix all
    block_ms: int = round(BLOCK_S * 1000)  # microphone block: each block is one wake-up of the processing thread (latency vs CPU)
    idle_ms: int = round(IDLE_S * 1000)  # read interval while the room is quiet (audio/quiet.py); 0: every block
    silence_s: float = SILENCE_S  # only exact zeros this long: the source is gone (PulseAudio fallback); 0: off


@dataclass
class LoggingConfig:
    level: str = "INFO"


@dataclass
class CaptureConfig:
    dir: str | None = None  # where to save the audio around each detection; None: do not capture
    before_s: float = 1.5
    after_s: float = 0.5


@dataclass
class WyomingConfig:
    """`wakeword serve`: where it listens and whether it announces itself over zeroconf."""

    uri: str = DEFAULT_URI  # tcp://HOST:PORT or unix://PATH
    zeroconf: str | None = None  # the name to announce as NAME._wyoming._tcp.local.; None: no announcement


@dataclass
class Config:
    audio: AudioConfig = field(default_factory=AudioConfig)
    models: list[str] = field(default_factory=list)  # names or paths; [] = every bundled model
    detector: dict[str, Any] = field(default_factory=dict)  # overrides of the model cards' detector settings
    flex_delegate: str | None = None
    mqtt: MqttConfig | None = None
    stdout: bool = True
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    wyoming: WyomingConfig = field(default_factory=WyomingConfig)
    path: str | None = None  # the file this came from


# ---- value checks: each returns (ok, converted value) ------------------------------------------------------
def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_Check = tuple[Callable[[Any], bool], str]  # (predicate, what the value must be)

_AUDIO: dict[str, _Check] = {
    "device": (lambda v: v is None or (isinstance(v, str) and v != "") or (_is_int(v) and v >= 0),
               "must be a device name or a device index >= 0"),
    "input": (lambda v: v is None or (isinstance(v, str) and v != ""), "must be a WAV file path or '-' for stdin"),
    "sample_rate": (lambda v: v is None or (_is_int(v) and 8000 <= v <= 384000),
                    "must be an integer sample rate in Hz between 8000 and 384000"),
    "channel": (lambda v: v is None or (_is_int(v) and 0 <= v <= 63), "must be a channel index between 0 and 63"),
    "block_ms": (lambda v: _is_int(v) and 10 <= v <= 500, "must be an integer number of milliseconds between 10 and 500"),
    "idle_ms": (lambda v: _is_int(v) and 0 <= v <= 1000, "must be an integer number of milliseconds between 0 (off) and 1000"),
    "silence_s": (lambda v: _is_num(v) and (v == 0 or 1 <= v <= 3600),
                  "must be 0 (off) or a number of seconds between 1 and 3600"),
}
_DETECTOR: dict[str, _Check] = {
    "threshold": (lambda v: _is_num(v) and 0 < v < 1, "must be a number between 0 and 1 (exclusive)"),
    "smoothing": (lambda v: _is_int(v) and 1 <= v <= 1000, "must be an integer between 1 and 1000 (steps averaged)"),
    "patience": (lambda v: _is_int(v) and 1 <= v <= 1000, "must be an integer between 1 and 1000 (steps above the threshold)"),
    "refractory_s": (lambda v: _is_num(v) and 0 <= v <= 3600, "must be a number of seconds between 0 and 3600"),
    "rearm_threshold": (lambda v: v is None or (_is_num(v) and 0 <= v < 1), "must be a number between 0 and 1"),
}
_LOGGING: dict[str, _Check] = {
    "level": (lambda v: isinstance(v, str) and v.upper() in LOG_LEVELS + ("WARN",),
              f"must be one of {', '.join(LOG_LEVELS)}"),
}
_CAPTURE: dict[str, _Check] = {
    "dir": (lambda v: v is None or (isinstance(v, str) and v != ""), "must be a directory path"),
    "before_s": (lambda v: _is_num(v) and 0 <= v <= 60, "must be a number of seconds between 0 and 60"),
    "after_s": (lambda v: _is_num(v) and 0 <= v <= 60, "must be a number of seconds between 0 and 60"),
}


def _uri_ok(v: Any) -> bool:
    try:
        parse_uri(v)
        return True
    except ValueError:
        return False


_WYOMING: dict[str, _Check] = {
    "uri": (_uri_ok, "must be tcp://HOST:PORT (port 1-65535) or unix://PATH"),
    "zeroconf": (lambda v: v is None or isinstance(v, bool) or zeroconf_name_ok(v),
                 "must be true, false or the name to announce (1-63 bytes, no dots)"),
}
_SECTIONS = ("audio", "models", "detector", "flex_delegate", "mqtt", "stdout", "logging", "capture", "wyoming")


class _Loader:
    def __init__(self, path: str) -> None:
        self.path = path
        self.base = Path(path).resolve().parent

    # ---- errors ------------------------------------------------------------------------------------------
    def error(self, node: yaml.Node | None, msg: str) -> ConfigError:
        where = f" line {node.start_mark.line + 1}" if node is not None else ""
        return ConfigError(f"{self.path}{where}: {msg}".replace("\r", "\\r").replace("\n", "\\n"))

    @staticmethod
    def shown(value: Any, node: yaml.Node, secret: bool = False) -> str:
        if secret:
            return "<hidden>"
        if isinstance(node, yaml.MappingNode):
            return "a mapping"
        if isinstance(node, yaml.SequenceNode):
            return "a list"
        return repr(value)

    # ---- node helpers ------------------------------------------------------------------------------------
    def value(self, node: yaml.Node) -> Any:
        try:
            return yaml.SafeLoader("").construct_document(node)
        except yaml.MarkedYAMLError as e:
            raise self.error(node, f"invalid YAML: {' '.join(str(e.problem or e.context).split())}") from None

    @staticmethod
    def is_null(node: yaml.Node) -> bool:
        return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"

    def mapping(self, node: yaml.Node, dotted: str, known: tuple[str, ...]) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """{key: (key node, value node)} of a mapping node; unknown and duplicate keys are errors."""
        if not isinstance(node, yaml.MappingNode):
            what = "the top level" if not dotted else dotted
            raise self.error(node, f"{what} must be a mapping of keys ({', '.join(known)})")
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for knode, vnode in node.value:
            key = self.value(knode) if isinstance(knode, yaml.ScalarNode) else None
            full = f"{dotted}.{key}" if dotted else str(key)
            if not isinstance(key, str) or key not in known:
                shown = key if isinstance(key, str) else self.shown(key, knode)
                full = f"{dotted}.{shown}" if dotted else str(shown)
                raise self.error(knode, f"unknown key {full}; known keys: {', '.join(sorted(known))}")
            if key in out:
                raise self.error(knode, f"duplicate key {full} (first given on line {out[key][0].start_mark.line + 1})")
            out[key] = (knode, vnode)
        return out

    def checked(self, vnode: yaml.Node, dotted: str, check: _Check, secret: bool = False) -> Any:
        value = self.value(vnode)
        ok, what = check
        if not ok(value):
            raise self.error(vnode, f"{dotted} {what} (got {self.shown(value, vnode, secret)})")
        return value

    def section(self, node: yaml.Node, name: str, checks: dict[str, _Check]) -> dict[str, Any]:
        if self.is_null(node):
            return {}
        items = self.mapping(node, name, tuple(checks))
        return {k: self.checked(v, f"{name}.{k}", checks[k]) for k, (_, v) in items.items()}

    def resolve(self, p: str | None) -> str | None:
        if p is None or p == "-":
            return p
        p = os.path.expanduser(p)
        return p if os.path.isabs(p) else str(self.base / p)

    # ---- the document ------------------------------------------------------------------------------------
    def load(self, text: str) -> Config:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            line = f" line {mark.line + 1}" if mark else ""
            msg = str(e.problem or e.context or "syntax error")
            if e.problem and e.context:  # e.g. "while parsing a flow sequence" where the bracket was opened
                where = f" started on line {e.context_mark.line + 1}" if e.context_mark else ""
                msg += f" ({e.context}{where})"
            raise ConfigError(f"{self.path}{line}: invalid YAML: {' '.join(msg.split())}") from None
        except yaml.YAMLError as e:
            raise ConfigError(f"{self.path}: invalid YAML: {' '.join(str(e).split())}") from None
        cfg = Config(path=self.path)
        if root is None or self.is_null(root):
            return cfg
        top = self.mapping(root, "", _SECTIONS)

        if "audio" in top:
            knode, vnode = top["audio"]
            a = self.section(vnode, "audio", _AUDIO)
            if a.get("device") is not None and a.get("input") is not None:
                raise self.error(self.mapping(vnode, "audio", tuple(_AUDIO))["input"][0],
                                 "set only one of audio.device (a microphone) and audio.input (a file or '-')")
            if "input" in a:
                a["input"] = self.resolve(a["input"])
            cfg.audio = AudioConfig(**a)

        if "models" in top:
            vnode = top["models"][1]
            if self.is_null(vnode):
                items: list[yaml.Node] = []
            elif isinstance(vnode, yaml.SequenceNode):
                items = list(vnode.value)
            elif isinstance(vnode, yaml.ScalarNode):
                items = [vnode]  # a single name or path
            else:
                raise self.error(vnode, "models must be a list of model names or paths (got a mapping)")
            models: list[str] = []
            for i, n in enumerate(items):
                m = self.checked(n, f"models[{i}]", (lambda v: isinstance(v, str) and v.strip() != "",
                                                      "must be a model name or a path to a .tflite file"))
                path_like = "/" in m or os.sep in m or m.endswith((".tflite", ".yaml", ".yml"))
                models.append((self.resolve(m) or m) if path_like else m)
            cfg.models = models

        if "detector" in top:
            d = self.section(top["detector"][1], "detector", _DETECTOR)
            d = {k: (float(v) if k in ("threshold", "refractory_s", "rearm_threshold") and v is not None else v)
                 for k, v in d.items()}
            if d.get("rearm_threshold") is not None and "threshold" in d and d["rearm_threshold"] > d["threshold"]:
                rnode = self.mapping(top["detector"][1], "detector", tuple(_DETECTOR))["rearm_threshold"][1]
                raise self.error(rnode, f"detector.rearm_threshold must not exceed detector.threshold "
                                        f"({d['threshold']}) (got {d['rearm_threshold']})")
            cfg.detector = d

        if "flex_delegate" in top:
            v = self.checked(top["flex_delegate"][1], "flex_delegate",
                             (lambda v: v is None or (isinstance(v, str) and v != ""),
                              "must be the path to libtensorflowlite_flex.so"))
            cfg.flex_delegate = self.resolve(v)

        if "stdout" in top:
            cfg.stdout = self.checked(top["stdout"][1], "stdout", (lambda v: isinstance(v, bool), "must be true or false"))

        if "logging" in top:
            lg = self.section(top["logging"][1], "logging", _LOGGING)
            level = lg.get("level", "INFO").upper()
            cfg.logging = LoggingConfig(level="WARNING" if level == "WARN" else level)

        if "capture" in top:
            c = self.section(top["capture"][1], "capture", _CAPTURE)
            c = {k: (float(v) if k != "dir" else self.resolve(v)) for k, v in c.items()}
            cfg.capture = CaptureConfig(**c)

        if "wyoming" in top:
            w = self.section(top["wyoming"][1], "wyoming", _WYOMING)
            zc = w.get("zeroconf")
            w["zeroconf"] = DEFAULT_ZEROCONF_NAME if zc is True else (zc or None)
            if str(w.get("uri", "")).startswith("unix://"):
                w["uri"] = "unix://" + (self.resolve(w["uri"][len("unix://"):]) or "")
            cfg.wyoming = WyomingConfig(**w)

        if "mqtt" in top:
            cfg.mqtt = self.mqtt(*top["mqtt"])
        return cfg

    def mqtt(self, knode: yaml.Node, vnode: yaml.Node) -> MqttConfig | None:
        if self.is_null(vnode):
            return None
        from .sinks.mqtt import MqttConfig, check_combination, check_field

        items = self.mapping(vnode, "mqtt", tuple(f.name for f in fields(MqttConfig)))
        values: dict[str, Any] = {}
        for key, (_, n) in items.items():
            value = self.value(n)
            what = check_field(key, value)
            if what:
                raise self.error(n, f"mqtt.{key} {what} (got {self.shown(value, n, secret=key == 'password')})")
            values[key] = value
        if "host" not in values:
            raise self.error(knode, "mqtt.host is required (the broker's host name or IP address)")
        bad = check_combination(values)
        if bad:
            raise self.error(items[bad[0]][0], bad[1])
        for key in ("password_file", "ca_certs"):
            if values.get(key) is not None:
                values[key] = self.resolve(values[key])
        return MqttConfig(**values)


def load_config(path: str | os.PathLike = DEFAULT_PATH) -> Config:
    """Read and validate a YAML config file. Raises ConfigError (one line: file, line, dotted key) on any problem."""
    shown = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise ConfigError(f"config file {shown} not found") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {shown} is not UTF-8 text") from None
    except OSError as e:
        raise ConfigError(f"config file {shown}: cannot read it ({e.strerror or e})") from None
    return _Loader(shown).load(text)
