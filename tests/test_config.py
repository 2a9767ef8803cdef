"""The daemon's YAML config: the shipped example loads, and every mistake is one line with file, line and key."""
from __future__ import annotations

import textwrap
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from wakeword.config import AudioConfig, CaptureConfig, Config, LoggingConfig, WyomingConfig, load_config
from wakeword.errors import ConfigError, WakewordError
from wakeword.sinks.mqtt import MqttConfig

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "systemd" / "config.example.yaml"


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text).lstrip("\n"))
    return p


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as e:
        load_config(path)
    msg = str(e.value)
    assert "\n" not in msg and isinstance(e.value, WakewordError)
    return msg


def test_example_config_loads_and_covers_every_section_and_key():
    cfg = load_config(EXAMPLE)
    assert isinstance(cfg, Config) and cfg.path == str(EXAMPLE)
    assert cfg.models == ["hey_ssafy"] and cfg.stdout is True and cfg.detector == {}
    assert cfg.audio == AudioConfig() and cfg.logging == LoggingConfig("INFO") and cfg.capture == CaptureConfig()
    assert cfg.mqtt == MqttConfig(host="localhost") and cfg.wyoming == WyomingConfig("tcp://0.0.0.0:10400", None)
    top = yaml.compose(EXAMPLE.read_text(), Loader=yaml.SafeLoader)
    sections = {k.value: v for k, v in top.value}
    assert set(sections) == {f.name for f in fields(Config)} - {"path"}
    text = EXAMPLE.read_text()
    for section, keys in [("audio", AudioConfig), ("mqtt", MqttConfig), ("logging", LoggingConfig),
                          ("capture", CaptureConfig), ("wyoming", WyomingConfig)]:
        given = {k.value for k, _ in sections[section].value}
        assert given == {f.name for f in fields(keys)}, section
    for key in ("threshold", "smoothing", "patience", "refractory_s", "rearm_threshold"):
        assert f"# {key}:" in text  # documented (commented out: the model cards hold the tuned values)


def test_full_config_values_and_relative_paths(tmp_path):
    p = write(tmp_path, """
        audio:
          device: 2
          channel: 1
        models: [hey_ssafy, models/mine.tflite, /abs/other.tflite]
        detector: {threshold: 0.7, smoothing: 4, patience: 3, refractory_s: 1, rearm_threshold: 0.2}
        flex_delegate: lib/libtensorflowlite_flex.so
        stdout: false
        logging: {level: warn}
        capture: {dir: captures, before_s: 2, after_s: 1}
        wyoming: {uri: "unix://run/wyoming.sock", zeroconf: true}
        mqtt:
          host: broker.lan
          port: 8883
          site_id: kitchen
          hermes: true
          username: pi
          password_file: secret/pw
          tls: true
          ca_certs: /etc/ssl/ca.pem
          queue_size: 10
          keepalive: 60
          client_id: ww-kitchen
        """)
    cfg = load_config(p)
    assert cfg.audio == AudioConfig(device=2, input=None, sample_rate=None, channel=1)
    assert cfg.models == ["hey_ssafy", str(tmp_path / "models/mine.tflite"), "/abs/other.tflite"]
    assert cfg.detector == {"threshold": 0.7, "smoothing": 4, "patience": 3, "refractory_s": 1.0, "rearm_threshold": 0.2}
    assert isinstance(cfg.detector["refractory_s"], float)
    assert cfg.flex_delegate == str(tmp_path / "lib/libtensorflowlite_flex.so")
    assert cfg.stdout is False and cfg.logging.level == "WARNING"
    assert cfg.capture == CaptureConfig(dir=str(tmp_path / "captures"), before_s=2.0, after_s=1.0)
    assert cfg.wyoming == WyomingConfig(uri=f"unix://{tmp_path / 'run/wyoming.sock'}", zeroconf="wakeword")
    assert cfg.mqtt == MqttConfig(host="broker.lan", port=8883, site_id="kitchen", hermes=True, username="pi",
                                  password_file=str(tmp_path / "secret/pw"), tls=True, ca_certs="/etc/ssl/ca.pem",
                                  queue_size=10, keepalive=60, client_id="ww-kitchen")
    other = load_config(write(tmp_path, "wyoming:\n  uri: tcp://[::]:10700\n  zeroconf: kitchen\n"))
    assert other.wyoming == WyomingConfig(uri="tcp://[::]:10700", zeroconf="kitchen")
    assert load_config(write(tmp_path, "wyoming:\n  zeroconf: false\n")).wyoming == WyomingConfig()


def test_defaults_for_empty_file_and_null_sections(tmp_path):
    assert load_config(write(tmp_path, "")) == Config(path=str(tmp_path / "config.yaml"))
    cfg = load_config(write(tmp_path, "# only a comment\naudio:\nmodels:\ndetector:\nmqtt:\ncapture:\n"))
    assert cfg.audio == AudioConfig() and cfg.models == [] and cfg.detector == {} and cfg.mqtt is None
    cfg = load_config(write(tmp_path, "audio: {input: '-', sample_rate: 16000}\nmodels: alexa\n"))
    assert cfg.audio.input == "-" and cfg.audio.sample_rate == 16000 and cfg.models == ["alexa"]


def test_error_names_file_line_and_key(tmp_path):
    p = write(tmp_path, """
        # wakeword config
        audio:
          device: default
        models: [hey_ssafy]
        stdout: true
        mqtt:
          port: abc
          host: localhost
        """)
    assert error_of(p) == f"{p} line 7: mqtt.port must be an integer between 1 and 65535 (got 'abc')"


def test_unknown_keys(tmp_path):
    p = write(tmp_path, "models: []\naudio:\n  devise: 3\n")
    assert error_of(p) == (f"{p} line 3: unknown key audio.devise; known keys: "
                           "block_ms, channel, device, idle_ms, input, sample_rate, silence_s")
    p = write(tmp_path, "models: []\n\nmqqt:\n  host: x\n")
    msg = error_of(p)
    assert msg.startswith(f"{p} line 3: unknown key mqqt; known keys: ") and "mqtt" in msg
    p = write(tmp_path, "detector:\n  threshold: 0.5\n  sensitivity: 0.5\n")
    assert error_of(p) == (f"{p} line 3: unknown key detector.sensitivity; known keys: patience, rearm_threshold, "
                           f"refractory_s, smoothing, threshold")
    p = write(tmp_path, "mqtt:\n  host: x\n  pasword: y\n")
    assert error_of(p).startswith(f"{p} line 3: unknown key mqtt.pasword; known keys: ca_certs, client_id, hermes, host")


@pytest.mark.parametrize("text, line, expected", [
    ("stdout: yes please\n", 1, "stdout must be true or false (got 'yes please')"),
    ("audio:\n  device: -1\n", 2, "audio.device must be a device name or a device index >= 0 (got -1)"),
    ("audio:\n  sample_rate: 16k\n", 2, "audio.sample_rate must be an integer sample rate in Hz"),
    ("audio:\n  channel: [0, 1]\n", 2, "audio.channel must be a channel index between 0 and 63 (got a list)"),
    ("audio:\n  device: 1\n  input: x.wav\n", 3, "set only one of audio.device"),
    ("audio:\n  idle_ms: 2000\n", 2, "audio.idle_ms must be an integer number of milliseconds between 0 (off) and 1000"),
    ("audio:\n  silence_s: 0.5\n", 2, "audio.silence_s must be 0 (off) or a number of seconds between 1 and 3600 (got 0.5)"),
    ("audio: hw:1\n", 1, "audio must be a mapping of keys (device, input, sample_rate, channel, block_ms, idle_ms, "
                        "silence_s)"),
    ("models:\n  a: b\n", 2, "models must be a list of model names or paths (got a mapping)"),
    ("models:\n  - hey_ssafy\n  - 3\n", 3, "models[1] must be a model name or a path to a .tflite file (got 3)"),
    ("detector:\n  threshold: 1.5\n", 2, "detector.threshold must be a number between 0 and 1 (exclusive) (got 1.5)"),
    ("detector:\n  patience: 0\n", 2, "detector.patience must be an integer between 1 and 1000"),
    ("detector:\n  smoothing: true\n", 2, "detector.smoothing must be an integer between 1 and 1000 (steps averaged) (got True)"),
    ("detector:\n  threshold: 0.4\n  rearm_threshold: 0.6\n", 3, "detector.rearm_threshold must not exceed"),
    ("flex_delegate: 12\n", 1, "flex_delegate must be the path to libtensorflowlite_flex.so (got 12)"),
    ("logging:\n  level: LOUD\n", 2, "logging.level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (got 'LOUD')"),
    ("wyoming:\n  uri: tcp://0.0.0.0\n", 2, "wyoming.uri must be tcp://HOST:PORT (port 1-65535) or unix://PATH "
                                            "(got 'tcp://0.0.0.0')"),
    ("wyoming:\n  uri: 10400\n", 2, "wyoming.uri must be tcp://HOST:PORT (port 1-65535) or unix://PATH (got 10400)"),
    ("wyoming:\n  zeroconf: my.host\n", 2, "wyoming.zeroconf must be true, false or the name to announce "
                                               "(1-63 bytes, no dots)"),
    ("wyoming:\n  port: 10400\n", 2, "unknown key wyoming.port; known keys: uri, zeroconf"),
    ("capture:\n  before_s: -1\n", 2, "capture.before_s must be a number of seconds between 0 and 60 (got -1)"),
    ("# broker\nmqtt:\n  port: 1883\n", 2, "mqtt.host is required"),
    ("mqtt:\n  host: a b\n", 2, "mqtt.host must be a host name or IP address (got 'a b')"),
    ("mqtt:\n  host: x\n  port: 0\n", 3, "mqtt.port must be an integer between 1 and 65535 (got 0)"),
    ("mqtt:\n  host: x\n  site_id: a/b\n", 3, "mqtt.site_id must be a non-empty string without '/', '+' or '#'"),
    ("mqtt:\n  host: x\n  hermes: 1\n", 3, "mqtt.hermes must be true or false (got 1)"),
    ("mqtt:\n  host: x\n  queue_size: 0\n", 3, "mqtt.queue_size must be an integer between 1 and 1000000 (got 0)"),
    ("mqtt:\n  host: x\n  password: [1]\n", 3, "mqtt.password must be a string (got <hidden>)"),
    ("mqtt:\n  host: x\n  username: u\n  password: p\n  password_file: f\n", 5, "set only one of mqtt.password"),
    ("mqtt:\n  host: x\n  password_file: f\n", 3, "mqtt.password_file needs mqtt.username"),
    ("mqtt:\n  host: x\n  ca_certs: ca.pem\n", 3, "mqtt.ca_certs needs mqtt.tls: true"),
    ("audio:\n  device: 1\n  device: 2\n", 3, "duplicate key audio.device (first given on line 2)"),
    ("- audio\n", 1, "the top level must be a mapping"),
])
def test_bad_values(tmp_path, text, line, expected):
    p = write(tmp_path, text)
    msg = error_of(p)
    assert msg.startswith(f"{p} line {line}: {expected}"), msg


def test_password_value_is_never_echoed(tmp_path):
    p = write(tmp_path, "mqtt:\n  host: x\n  password: {nested: hunter2}\n")
    assert "hunter2" not in error_of(p)
    cfg = load_config(write(tmp_path, "mqtt:\n  host: x\n  username: u\n  password: hunter2\n"))
    assert cfg.mqtt.password == "hunter2" and "hunter2" not in repr(cfg)


@pytest.mark.parametrize("text, line, expected", [
    ("audio:\n  device: [1, 2\nmodels: []\n", 3, "expected ',' or ']', but got ':' (while parsing a flow sequence "
                                               "started on line 2)"),
    ("audio:\n  device: 1\n\tmodels: []\n", 3, "found character '\\t' that cannot start any token"),
    ("mqtt:\n  host: \"abc\n", 3, "found unexpected end of stream (while scanning a quoted scalar started on line 2)"),
    ("stdout: true\n---\nstdout: false\n", 2, "but found another document"),
    ("models: !!python/object:os.system x\n", 1, "could not determine a constructor"),
])
def test_invalid_yaml(tmp_path, text, line, expected):
    p = write(tmp_path, text)
    msg = error_of(p)
    assert msg.startswith(f"{p} line {line}: invalid YAML: {expected}"), msg


def test_missing_and_unreadable_files(tmp_path):
    missing = tmp_path / "nope.yaml"
    assert error_of(missing) == f"config file {missing} not found"
    assert error_of(tmp_path) == f"config file {tmp_path}: cannot read it (Is a directory)"
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"audio: \xff\xfe\n")
    assert error_of(binary) == f"config file {binary} is not UTF-8 text"
