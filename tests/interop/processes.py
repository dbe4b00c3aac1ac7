"""Child processes, free ports and readiness checks for the interop peers (see peers.py)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

LOOPBACK = "127.0.0.1"

#: Debian package that provides each binary (for skip messages).
_PACKAGES = {"sipp": "sip-tester", "kamailio": "kamailio", "baresip": "baresip"}
#: Where Debian installs daemons that may be missing from a user's PATH.
_SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")

STOP_GRACE_SECONDS = 5.0
READY_TIMEOUT_SECONDS = 15.0
_POLL_SECONDS = 0.02


class PeerError(RuntimeError):
    """A peer did not start, did not become ready, or ended unexpectedly."""


@dataclass(frozen=True)
class Endpoint:
    """A UDP transport address on loopback."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


# --------------------------------------------------------------------------- binaries, ports


def require_binary(name: str) -> str:
    """Path of a peer binary; skips the test only when the binary is truly absent."""
    search = os.pathsep.join([os.environ.get("PATH", ""), *_SBIN_DIRS])
    found = shutil.which(name, path=search)
    if found is None:
        package = _PACKAGES.get(name, name)
        pytest.skip(f"{name} is not installed (Debian package {package}; scripts/bootstrap.sh installs it)")
    return found


_handed_out: set[int] = set()
#: Below Linux's default ephemeral range (32768-60999), where our dialer binds by default.
_PORT_RANGE = (20000, 32000)


def _port_free(port: int) -> bool:
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind((LOOPBACK, port))
            except OSError:
                return False
    return True


def free_port_block(span: int = 1) -> int:
    """First port of `span` consecutive ports free for UDP and TCP on loopback.

    Ports are probed by binding, and never handed out twice in this test process.
    """
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(500):
        base = rng.randrange(_PORT_RANGE[0], _PORT_RANGE[1] - span)
        block = range(base, base + span)
        if any(p in _handed_out for p in block):
            continue
        if all(_port_free(p) for p in block):
            _handed_out.update(block)
            return base
    raise PeerError(f"no block of {span} free ports found in {_PORT_RANGE}")


def _bound_ports(table: str) -> set[int]:
    ports: set[int] = set()
    for name in (f"/proc/net/{table}", f"/proc/net/{table}6"):
        try:
            lines = Path(name).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            local, state = fields[1], fields[3]
            if table == "tcp" and state != "0A":  # LISTEN
                continue
            ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


def udp_port_bound(port: int) -> bool:
    """Whether some socket is bound to this UDP port (read from /proc/net/udp{,6})."""
    return port in _bound_ports("udp")


def tcp_port_listening(port: int) -> bool:
    """Whether some socket listens on this TCP port (read from /proc/net/tcp{,6})."""
    return port in _bound_ports("tcp")


# --------------------------------------------------------------------------- processes


@dataclass
class PeerProcess:
    """One running peer: its PID, where its output goes, how to stop it."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    extra_logs: list[Path] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def wait(self, timeout: float) -> int:
        """Wait for the peer to exit on its own; PeerError (with its logs) after `timeout`."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PeerError(f"{self.name} did not finish within {timeout:g} s\n{self.describe()}") from None

    def stop(self) -> None:
        """SIGTERM by PID, SIGKILL after a bounded grace period."""
        if self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=STOP_GRACE_SECONDS)

    def describe(self, tail_chars: int = 6000) -> str:
        """Name, PID, exit status and the end of every log, for failure messages."""
        status = "running" if self.running else f"exit status {self.popen.returncode}"
        parts = [f"--- {self.name} (pid {self.pid}, {status})"]
        for path in [self.log_path, *self.extra_logs]:
            if path.exists():
                text = path.read_text(errors="replace")
                if len(text) > tail_chars:
                    text = "[...]\n" + text[-tail_chars:]
                parts.append(f"--- {path.name}:\n{text}")
        return "\n".join(parts)

    def wait_until(self, ready: Callable[[], bool], what: str, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Poll a readiness check (bounded); fail at once if the peer exits meanwhile."""
        deadline = time.monotonic() + timeout
        while not ready():
            if not self.running:
                raise PeerError(f"{self.name} exited before {what}\n{self.describe()}")
            if time.monotonic() > deadline:
                raise PeerError(f"{self.name}: no {what} within {timeout:g} s\n{self.describe()}")
            time.sleep(_POLL_SECONDS)


def sip_options_ping(target: Endpoint, timeout: float = READY_TIMEOUT_SECONDS) -> str:
    """Send OPTIONS (RFC 3261 section 11) until any response arrives; return its status line.

    A readiness probe for proxies and phones; retransmits every 200 ms (bounded).
    """
    branch = "z9hG4bK" + uuid.uuid4().hex
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        local_port = sock.getsockname()[1]
        request = (
            f"OPTIONS sip:{target} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {LOOPBACK}:{local_port};branch={branch};rport\r\n"
            f"From: <sip:probe@{LOOPBACK}:{local_port}>;tag={uuid.uuid4().hex[:10]}\r\n"
            f"To: <sip:{target}>\r\n"
            f"Call-ID: {uuid.uuid4().hex}@{LOOPBACK}\r\n"
            "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        ).encode()
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            sock.sendto(request, (target.host, target.port))
            sock.settimeout(min(0.2, remaining))
            try:
                data = sock.recv(65535)
            except (TimeoutError, ConnectionRefusedError):
                continue
            status_line = data.split(b"\r\n", 1)[0].decode(errors="replace")
            if status_line.startswith("SIP/2.0 ") and not status_line.startswith("SIP/2.0 1"):
                return status_line
    raise PeerError(f"no answer to OPTIONS from {target} within {timeout:g} s")
