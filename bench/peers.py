"""The far ends of the benchmarks as child processes: sipp (answering or calling) and Kamailio.

Every process is started in its own session and stopped by its PID (SIGTERM, then SIGKILL
after a bounded wait); every wait is bounded. Kamailio runs the interop tests' configuration
(``tests/interop/kamailio/kamailio.cfg``: digest auth on INVITE with 407, record-route, relay
to the far end) with its log level lowered, so the proxy is the same one the tests prove.

Errors::

    PeerError (RuntimeError)   a peer did not start, or exited early
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "BENCH_DIR",
    "KAMAILIO_CONFIG",
    "PeerError",
    "Proc",
    "free_udp_port",
    "start_kamailio",
    "start_sipp_uac",
    "start_sipp_uas",
    "udp_drops",
    "wait_port_bound",
]

BENCH_DIR = Path(__file__).resolve().parent
SCENARIOS = BENCH_DIR / "scenarios"
KAMAILIO_CONFIG = BENCH_DIR.parent / "tests" / "interop" / "kamailio" / "kamailio.cfg"
SIPP_SHARE = Path("/usr/share/sip-tester")  # Debian package sip-tester: the RFC 2833 pcaps
KAMAILIO_MODULES = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")
STOP_TIMEOUT = 5.0


class PeerError(RuntimeError):
    """A peer process did not start, or exited before it was stopped."""


@dataclass
class Proc:
    """A child process we started, its log, and how to stop it."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def wait(self, timeout: float) -> int | None:
        """Exit status, or None if still running after ``timeout`` seconds."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM to our child; SIGKILL to its process group (ours: own session) if it lingers."""
        if self.popen.poll() is None:
            try:
                os.kill(self.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            if self.wait(timeout) is None:
                try:
                    os.killpg(self.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.wait(timeout)
        return self.popen.returncode

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port that was free a moment ago (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def udp_drops(port: int) -> int | None:
    """Datagrams the kernel dropped on the IPv4 UDP socket bound to ``port`` because its receive
    buffer was full (the last column of /proc/net/udp); None if no such socket."""
    try:
        lines = Path("/proc/net/udp").read_text().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port:
            return int(fields[-1])
    return None


def wait_port_bound(proc: Proc, port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
    """Wait until ``proc`` holds UDP ``port`` (binding it ourselves fails), or raise PeerError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise PeerError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.tail()}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                return
        time.sleep(0.05)
    raise PeerError(f"{proc.name} did not bind {host}:{port} within {timeout:g} s:\n{proc.tail()}")


def _spawn(name: str, args: list[str], workdir: Path) -> Proc:
    log = workdir / f"{name}.log"
    with open(log, "wb") as out:
        popen = subprocess.Popen(
            args, cwd=workdir, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Proc(name, popen, log)


def _sipp() -> str:
    path = shutil.which("sipp")
    if path is None:
        raise PeerError("sipp is not installed (Debian package sip-tester)")
    return path


def start_sipp_uas(scenario: str, workdir: Path, *, host: str = "127.0.0.1") -> Proc:
    """sipp answering with ``bench/scenarios/<scenario>`` on a free port; ``extra['port']``.

    The RFC 2833 pcaps are linked into ``workdir`` (sipp resolves play_pcap_audio there)."""
    for pcap in SIPP_SHARE.glob("dtmf_2833_*.pcap"):
        link = workdir / pcap.name
        if not link.exists():
            link.symlink_to(pcap)
    port, media_port = free_udp_port(host), free_udp_port(host)
    args = [
        _sipp(), "-sf", str(SCENARIOS / scenario), "-i", host, "-p", str(port),
        "-mi", host, "-mp", str(media_port), "-nostdin", "-trace_err",
        "-error_file", str(workdir / f"uas-{port}-errors.log"),
    ]  # fmt: skip
    proc = _spawn(f"sipp-uas-{port}", args, workdir)
    proc.extra.update(port=port, media_port=media_port)
    wait_port_bound(proc, port, host)
    return proc


def start_sipp_uac(
    target: tuple[str, int],
    workdir: Path,
    *,
    calls: int,
    rate: float,
    limit: int,
    username: str,
    password: str,
    number: str = "5550100",
    host: str = "127.0.0.1",
    timeout: float = 60.0,
) -> Proc:
    """sipp placing ``calls`` short authenticated calls at ``rate``/s (at most ``limit`` at
    once) to ``target``; its final statistics go to ``extra['stats']`` (CSV)."""
    port, media_port = free_udp_port(host), free_udp_port(host)
    stats = workdir / f"uac-{port}-stats.csv"
    args = [
        _sipp(), f"{target[0]}:{target[1]}", "-sf", str(SCENARIOS / "uac_auth_short.xml"),
        "-s", number, "-au", username, "-ap", password, "-i", host, "-p", str(port),
        "-mi", host, "-mp", str(media_port), "-m", str(calls), "-r", str(int(rate)), "-rp", "1000",
        "-l", str(limit), "-timeout", f"{int(timeout)}s", "-timeout_error", "-nostdin",
        "-trace_stat", "-stf", str(stats), "-fd", "1",
        "-trace_err", "-error_file", str(workdir / f"uac-{port}-errors.log"),
    ]  # fmt: skip
    proc = _spawn(f"sipp-uac-{port}", args, workdir)
    proc.extra.update(port=port, stats=stats)
    return proc


def start_kamailio(
    upstream: tuple[str, int],
    workdir: Path,
    *,
    username: str,
    password: str,
    realm: str = "bench.test",
    host: str = "127.0.0.1",
    children: int = 2,
) -> Proc:
    """Kamailio as the carrier: challenges INVITEs for ``username``/``password`` (MD5,
    qop=auth, RFC 8760 / RFC 2617), record-routes, relays to ``upstream``; ``extra['port']``."""
    binary = shutil.which("kamailio") or shutil.which("kamailio", path="/usr/sbin:/sbin")
    if binary is None:
        raise PeerError("kamailio is not installed (Debian package kamailio)")
    port = free_udp_port(host)
    runtime = workdir / f"kamailio-{port}"
    runtime.mkdir(exist_ok=True)
    args = [
        binary, "-f", str(KAMAILIO_CONFIG), "-L", str(KAMAILIO_MODULES), "-Y", str(runtime),
        "-P", str(runtime / "kamailio.pid"), "-w", str(runtime), "-DD", "-E", "--debug=1",
        "-n", str(children), "-m", "128",
        "-A", f"LISTEN_ADDR=udp:{host}:{port}",
        "-A", f'UPSTREAM="sip:{upstream[0]}:{upstream[1]}"',
        "-A", f'AUTH_REALM="{realm}"', "-A", f'AUTH_USER="{username}"',
        "-A", f'AUTH_PASSWORD="{password}"', "-A", 'DIGEST_ALGORITHM="MD5"',
    ]  # fmt: skip
    proc = _spawn(f"kamailio-{port}", args, workdir)
    proc.extra.update(port=port)
    wait_port_bound(proc, port, host)
    return proc
