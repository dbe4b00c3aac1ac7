"""Real SIP peers on loopback for the interop tests: sipp, Kamailio, baresip and pyVoIP.

Every peer is a child process on free ports. Start-up waits on a real readiness signal (the
SIP port bound, an OPTIONS answered, the control connection accepted, the registration
reported), bounded in time. Each process is stopped by its PID (SIGTERM, then SIGKILL after a
bounded wait) when the owning `PeerSet` closes, and its output is kept in the test's tmp_path
so a failure message can show what the peer saw.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .processes import (
    LOOPBACK,
    READY_TIMEOUT_SECONDS,
    Endpoint,
    PeerError,
    PeerProcess,
    free_port_block,
    require_binary,
    sip_options_ping,
    tcp_port_listening,
    udp_port_bound,
)

__all__ = [
    "LOOPBACK", "BaresipControl", "BaresipPeer", "Endpoint", "KamailioPeer", "PeerError", "PeerSet",
    "PyVoipPeer", "SippPeer", "TrunkAccount", "free_port_block", "scenario_path", "sipp_share_dir",
]

INTEROP_DIR = Path(__file__).resolve().parent
SCENARIO_DIR = INTEROP_DIR / "scenarios"
KAMAILIO_CFG = INTEROP_DIR / "kamailio" / "kamailio.cfg"
PYVOIP_CALLEE = INTEROP_DIR / "pyvoip_callee.py"

# --------------------------------------------------------------------------- sipp


def sipp_share_dir() -> Path:
    """The directory of sipp's shipped pcaps (Debian: <prefix>/share/sip-tester)."""
    prefix = Path(require_binary("sipp")).resolve().parents[1]
    for candidate in (prefix / "share" / "sip-tester", prefix / "share" / "sipp"):
        if (candidate / "dtmf_2833_1.pcap").exists():
            return candidate
    raise PeerError(f"sipp's RFC 2833 pcaps not found under {prefix / 'share'}")


@dataclass
class SippPeer(PeerProcess):
    """A sipp instance running one scenario for one call (-m 1)."""

    sip: Endpoint = Endpoint(LOOPBACK, 0)
    media_port: int = 0
    scenario: Path = Path()
    message_log: Path = Path()

    def finish(self, timeout: float = 20.0) -> int:
        """Wait for the scenario to end; return sipp's exit status (0: the call succeeded)."""
        return self.wait(timeout)

    def assert_succeeded(self, timeout: float = 20.0) -> None:
        """The scenario ran to its end: every expected message came (sipp exit status 0)."""
        status = self.finish(timeout)
        assert status == 0, f"sipp scenario {self.scenario.name} failed (exit {status})\n{self.describe()}"

    def messages(self) -> str:
        """Every SIP message sipp sent and received (its -trace_msg file)."""
        return self.message_log.read_text(errors="replace") if self.message_log.exists() else ""

    def received_requests(self, method: str) -> list[str]:
        """The text of each `method` request sipp received, from its message trace."""
        found = []
        for block in self.messages().split("----------------------------------------------- ")[1:]:
            header, _, body = block.partition("\n\n")
            if "message received" in header and body.startswith(f"{method} "):
                found.append(body)
        return found


def scenario_path(name: str) -> Path:
    path = SCENARIO_DIR / name
    if not path.exists():
        raise PeerError(f"no sipp scenario {name} in {SCENARIO_DIR}")
    return path


# --------------------------------------------------------------------------- kamailio


@dataclass(frozen=True)
class TrunkAccount:
    """The one account the test proxy knows (digest realm, user, password)."""

    user: str = "trunkuser"
    password: str = "s3cret-trunk"
    realm: str = "callbot.test"


def _kamailio_module_dir(binary: str) -> Path:
    prefix = Path(binary).resolve().parents[1]
    for candidate in sorted(prefix.glob("lib*/**/kamailio/modules")):
        if (candidate / "tm.so").exists():
            return candidate
    raise PeerError(f"kamailio modules (tm.so) not found under {prefix}")


@dataclass
class KamailioPeer(PeerProcess):
    sip: Endpoint = Endpoint(LOOPBACK, 0)
    account: TrunkAccount = TrunkAccount()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


# --------------------------------------------------------------------------- baresip


class BaresipControl:
    """Client of baresip's ctrl_tcp module: netstring-framed JSON commands and events."""

    def __init__(self, endpoint: Endpoint, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        self._sock = socket.create_connection((endpoint.host, endpoint.port), timeout=timeout)
        self._buffer = b""
        self._events: list[dict[str, object]] = []
        self.seen_events: list[dict[str, object]] = []

    def close(self) -> None:
        self._sock.close()

    def _read_message(self, deadline: float) -> dict[str, object] | None:
        while True:
            head, colon, rest = self._buffer.partition(b":")
            if colon and head.isdigit() and len(rest) >= int(head) + 1:
                size = int(head)
                payload, self._buffer = rest[:size], rest[size + 1 :]
                message: dict[str, object] = json.loads(payload)
                if message.get("event"):
                    self.seen_events.append(message)
                return message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._sock.settimeout(remaining)
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                return None
            if not chunk:
                raise PeerError("baresip closed its control connection")
            self._buffer += chunk

    def command(self, command: str, params: str | None = None, timeout: float = 5.0) -> dict[str, object]:
        """Run a baresip command (e.g. sndcode, hangup) and return its response."""
        token = uuid.uuid4().hex[:8]
        payload = json.dumps({"command": command, "params": params, "token": token}).encode()
        self._sock.sendall(str(len(payload)).encode() + b":" + payload + b",")
        deadline = time.monotonic() + timeout
        while (message := self._read_message(deadline)) is not None:
            if message.get("response") and message.get("token") == token:
                return message
            if message.get("event"):
                self._events.append(message)
        raise PeerError(f"baresip did not answer command {command!r} within {timeout:g} s")

    def wait_event(self, event_type: str, timeout: float) -> dict[str, object]:
        """The next event of this type (e.g. CALL_ESTABLISHED, CALL_CLOSED); PeerError on timeout."""
        for index, event in enumerate(self._events):
            if event.get("type") == event_type:
                return self._events.pop(index)
        deadline = time.monotonic() + timeout
        while (message := self._read_message(deadline)) is not None:
            if message.get("event") and message.get("type") == event_type:
                return message
            if message.get("event"):
                self._events.append(message)
        seen = [e.get("type") for e in self.seen_events]
        raise PeerError(f"baresip sent no {event_type} event within {timeout:g} s (events seen: {seen})")

    def send_digits(self, digits: str, gap_seconds: float = 0.3) -> None:
        """Send RFC 4733 key presses on the current call, one `sndcode` per digit."""
        for digit in digits:
            response = self.command("sndcode", digit)
            if not response.get("ok"):
                raise PeerError(f"baresip refused sndcode {digit!r}: {response}")
            time.sleep(gap_seconds)  # baresip sends one event at a time; space the key presses


@dataclass
class BaresipPeer(PeerProcess):
    sip: Endpoint = Endpoint(LOOPBACK, 0)
    user: str = "callee"
    control: BaresipControl | None = None
    recordings: Path = Path()

    @property
    def uri(self) -> str:
        return f"sip:{self.user}@{self.sip}"

    @property
    def ctrl(self) -> BaresipControl:
        if self.control is None:
            raise PeerError("baresip control connection is not open")
        return self.control

    def heard_wav(self) -> Path:
        """The WAV baresip's sndfile module recorded from the caller (decoded direction)."""
        files = sorted(self.recordings.glob("*-dec.wav"))
        if not files:
            raise PeerError(f"baresip recorded nothing in {self.recordings}\n{self.describe()}")
        return files[-1]

    def stop(self) -> None:
        if self.control is not None:
            self.control.close()
            self.control = None
        super().stop()


def _baresip_module_dir(binary: str) -> Path:
    prefix = Path(binary).resolve().parents[1]
    for candidate in sorted(prefix.glob("lib*/**/baresip/modules")):
        if (candidate / "ctrl_tcp.so").exists():
            return candidate
    raise PeerError(f"baresip modules (ctrl_tcp.so) not found under {prefix}")


# --------------------------------------------------------------------------- pyVoIP


@dataclass
class PyVoipPeer(PeerProcess):
    """pyVoIP 1.6.8 answering calls after registering with a registrar (our Kamailio)."""

    sip: Endpoint = Endpoint(LOOPBACK, 0)
    user: str = "pyvoip"
    events_path: Path = Path()

    def events(self) -> list[dict[str, object]]:
        if not self.events_path.exists():
            return []
        lines = self.events_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def wait_event(self, name: str, timeout: float) -> dict[str, object]:
        found: list[dict[str, object]] = []

        def seen() -> bool:
            found[:] = [e for e in self.events() if e.get("event") == name]
            return bool(found)

        self.wait_until(seen, f"'{name}' event", timeout)
        return found[0]


# --------------------------------------------------------------------------- the set


class PeerSet:
    """Starts peers for one test and stops every one of them, by PID, at the end."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._processes: list[PeerProcess] = []

    def _spawn(self, name: str, argv: Sequence[str], *, cwd: Path) -> tuple[subprocess.Popen[bytes], Path]:
        log_path = cwd / f"{name}.log"
        with log_path.open("wb") as log:
            popen = subprocess.Popen(
                list(argv), cwd=cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        (cwd / f"{name}.cmd").write_text(" ".join(argv) + "\n")
        return popen, log_path

    def _dir(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def close(self) -> None:
        """Stop every peer (reverse start order); errors from one do not skip the others."""
        errors: list[BaseException] = []
        for process in reversed(self._processes):
            try:
                process.stop()
            except Exception as exc:  # noqa: BLE001 - keep stopping the others, re-raise below
                errors.append(exc)
        self._processes.clear()
        if errors:
            raise errors[0]

    def describe(self) -> str:
        return "\n".join(p.describe() for p in self._processes)

    # ---- sipp

    def sipp(
        self,
        scenario: str,
        *,
        target: Endpoint | None = None,
        service: str = "1000",
        pause_ms: int | None = None,
        keys: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        substitutions: dict[str, str] | None = None,
        timeout_s: int = 60,
    ) -> SippPeer:
        """Start sipp on one scenario for one call: a UAS when `target` is None, else a UAC.

        `substitutions` replaces placeholders (e.g. @STATUS@) in a copy of the scenario,
        for values sipp reads literally. The shipped pcaps are linked into sipp's working
        directory, where play_pcap_audio resolves relative names.
        """
        binary = require_binary("sipp")
        role = "uas" if target is None else "uac"
        name = f"sipp-{role}-{Path(scenario).stem}"
        cwd = self._dir(name)
        source = scenario_path(scenario)
        scenario_file = source
        if substitutions:
            text = source.read_text(encoding="latin-1")
            for placeholder, value in substitutions.items():
                text = text.replace(placeholder, value)
            scenario_file = cwd / source.name
            scenario_file.write_text(text, encoding="latin-1")
        if role == "uas":
            for pcap in sipp_share_dir().glob("*.pcap"):
                link = cwd / pcap.name
                if not link.exists():
                    link.symlink_to(pcap)
        sip_port = free_port_block(1)
        media_port = free_port_block(4)  # sipp: audio RTP/RTCP, video RTP/RTCP
        error_log = cwd / "errors.log"
        message_log = cwd / "messages.log"
        argv = [
            binary, "-sf", str(scenario_file),
            "-i", LOOPBACK, "-p", str(sip_port), "-mi", LOOPBACK, "-mp", str(media_port),
            "-m", "1", "-nostdin", "-timeout", f"{timeout_s}s", "-timeout_error",
            "-trace_err", "-error_file", str(error_log),
            "-trace_msg", "-message_file", str(message_log),
            "-s", service,
        ]
        if pause_ms is not None:
            argv += ["-d", str(pause_ms)]
        keys = dict(keys or {})
        if target is not None:
            keys.setdefault("rtp_port", str(media_port))  # the UAC scenarios' SDP audio port
        for key, value in keys.items():
            argv += ["-key", key, value]
        if auth is not None:
            argv += ["-au", auth[0], "-ap", auth[1]]
        if target is not None:
            argv.append(str(target))
        popen, log_path = self._spawn(name, argv, cwd=cwd)
        peer = SippPeer(
            name=name, popen=popen, log_path=log_path, extra_logs=[error_log, message_log],
            sip=Endpoint(LOOPBACK, sip_port), media_port=media_port, scenario=source,
            message_log=message_log,
        )
        self._processes.append(peer)
        if role == "uas":
            peer.wait_until(lambda: udp_port_bound(sip_port), f"SIP socket on UDP {sip_port}")
        return peer

    def sipp_uas(self, scenario: str, *, pause_ms: int | None = None) -> SippPeer:
        """sipp answering one call with `scenario`, ready when its SIP port is bound.

        `pause_ms` is the scenario's <pause/> length (sipp -d), e.g. before a remote BYE.
        """
        return self.sipp(scenario, pause_ms=pause_ms)

    # ---- kamailio

    def kamailio(
        self,
        upstream: Endpoint,
        *,
        account: TrunkAccount = TrunkAccount(),
        algorithm: str = "MD5",
        forbid_wrong_password: bool = False,
        qop: bool = True,
    ) -> KamailioPeer:
        """Kamailio as a digest-authenticating, record-routing proxy and in-memory registrar.

        Calls for users not registered with it are relayed to `upstream`. Ready when it
        answers OPTIONS.
        """
        binary = require_binary("kamailio")
        cwd = self._dir("kamailio")
        port = free_port_block(1)
        argv = [
            binary, "-DD", "-E", "-f", str(KAMAILIO_CFG), "-L", str(_kamailio_module_dir(binary)),
            "-Y", str(cwd), "-P", str(cwd / "kamailio.pid"), "-m", "32", "-M", "4",
            "-A", f"LISTEN_ADDR=udp:{LOOPBACK}:{port}",
            "-A", f'UPSTREAM="sip:{upstream}"',
            "-A", f'AUTH_REALM="{account.realm}"',
            "-A", f'AUTH_USER="{account.user}"',
            "-A", f'AUTH_PASSWORD="{account.password}"',
            "-A", f'DIGEST_ALGORITHM="{algorithm}"',
        ]
        if forbid_wrong_password:
            argv += ["-A", "WITH_FORBIDDEN"]
        if not qop:
            argv += ["-A", "WITHOUT_QOP"]
        popen, log_path = self._spawn("kamailio", argv, cwd=cwd)
        peer = KamailioPeer(name="kamailio", popen=popen, log_path=log_path,
                            sip=Endpoint(LOOPBACK, port), account=account)
        self._processes.append(peer)
        peer.wait_until(lambda: udp_port_bound(port), f"SIP socket on UDP {port}")
        try:
            sip_options_ping(peer.sip)
        except PeerError as exc:
            raise PeerError(f"{exc}\n{peer.describe()}") from None
        return peer

    # ---- baresip

    def baresip(self, prompt_wav: Path, *, user: str = "callee") -> BaresipPeer:
        """baresip answering automatically, playing `prompt_wav` as its microphone.

        Ready when its SIP port is bound and its ctrl_tcp control connection is accepted.
        What it hears is recorded by the sndfile module.
        """
        binary = require_binary("baresip")
        cwd = self._dir("baresip")
        config_dir = cwd / "config"
        recordings = cwd / "recordings"
        config_dir.mkdir(exist_ok=True)
        recordings.mkdir(exist_ok=True)
        sip_port = free_port_block(2)  # SIP on UDP+TCP, and TLS on the next port
        ctrl_port = free_port_block(1)
        modules = _baresip_module_dir(binary)
        (config_dir / "config").write_text(
            "\n".join([
                "poll_method epoll",
                f"sip_listen {LOOPBACK}:{sip_port}",
                "call_local_timeout 120",
                "call_max_calls 4",
                f"audio_source aufile,{prompt_wav}",
                "audio_player alsa,null",
                "audio_alert alsa,null",
                f"module_path {modules}",
                "module g711.so",
                "module aufile.so",
                "module alsa.so",
                "module sndfile.so",
                "module_tmp account.so",
                "module_app menu.so",
                "module_app ctrl_tcp.so",
                f"ctrl_tcp_listen {LOOPBACK}:{ctrl_port}",
                f"snd_path {recordings}",
                "",
            ])
        )
        (config_dir / "accounts").write_text(
            f"<sip:{user}@{LOOPBACK}:{sip_port}>;regint=0;answermode=auto;"
            "audio_codecs=PCMU,PCMA;ptime=20\n"
        )
        argv = [binary, "-n", LOOPBACK, "-f", str(config_dir)]
        popen, log_path = self._spawn("baresip", argv, cwd=cwd)
        peer = BaresipPeer(name="baresip", popen=popen, log_path=log_path,
                           sip=Endpoint(LOOPBACK, sip_port), user=user, recordings=recordings)
        self._processes.append(peer)
        peer.wait_until(lambda: udp_port_bound(sip_port) and tcp_port_listening(ctrl_port),
                        f"SIP socket on UDP {sip_port} and control port {ctrl_port}")
        peer.control = BaresipControl(Endpoint(LOOPBACK, ctrl_port))
        return peer

    # ---- pyVoIP

    def pyvoip(self, registrar: KamailioPeer, *, audio_seconds: float = 30.0) -> PyVoipPeer:
        """pyVoIP registered with `registrar` under its account, answering every call with a tone.

        Calls to the account's user name through the registrar reach it (Kamailio's location
        lookup). Ready when pyVoIP reports its registration done (it always registers first).
        """
        cwd = self._dir("pyvoip")
        sip_port = free_port_block(1)
        rtp_low = free_port_block(8)
        events = cwd / "events.jsonl"
        account = registrar.account
        argv = [
            sys.executable, str(PYVOIP_CALLEE),
            "--registrar", str(registrar.sip), "--user", account.user,
            "--password", account.password, "--sip-port", str(sip_port),
            "--rtp-ports", f"{rtp_low}-{rtp_low + 7}", "--events", str(events),
            "--audio-seconds", f"{audio_seconds:g}",
        ]
        popen, log_path = self._spawn("pyvoip", argv, cwd=cwd)
        peer = PyVoipPeer(name="pyvoip", popen=popen, log_path=log_path,
                          sip=Endpoint(LOOPBACK, sip_port), user=account.user,
                          events_path=events, extra_logs=[events])
        self._processes.append(peer)
        peer.wait_event("registered", READY_TIMEOUT_SECONDS)
        return peer
