"""Call setups per second through a proxy with digest auth, placed by our dialer in batch.

    python -m bench.setups --proxy 127.0.0.1:PORT --user U --password P --calls 2000 --rate 200

Each call is INVITE, 407 Proxy-Authenticate, ACK, INVITE with credentials (RFC 3261 section
22.3), 200, ACK, and BYE as soon as the answer arrives (section 15.1.1), all through the
:class:`dialer.phone.Softphone` API on one SIP socket. Calls start on a fixed schedule
(call ``i`` at ``i / rate`` seconds; a late start is not made up by a burst beyond the
schedule) with at most ``--concurrency`` in progress (an :class:`asyncio.Semaphore`). Prints
one JSON object (see :func:`run`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.peers import udp_drops
from bench.probes import GcPauses, LoopStalls
from dialer.errors import DialerError
from dialer.outcome import CallOutcome, HangupBy
from dialer.phone import Softphone
from dialer.sip.ua import Trunk


TRANSACTION_TIMEOUT = 32.0  # Timer B and F with T1 = 500 ms (RFC 3261 s17.1.1.2, s17.1.2.2)


@dataclass
class Attempt:
    started: float
    answered: float | None = None
    ended: float | None = None
    outcome: str = "timeout"
    ok: bool = False


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(
    proxy: tuple[str, int],
    username: str,
    password: str,
    *,
    calls: int,
    rate: float,
    concurrency: int,
    timeout: float = 30.0,
    number: str = "5550100",
) -> dict[str, Any]:
    """Place the calls; return ``calls``, ``ok``, ``failed``, ``failures`` (outcome counts),
    ``elapsed_s`` (first INVITE to last call ended), ``achieved_cps`` (ok / elapsed),
    ``setup_ms`` (p50/p99 from dial to answer), ``cpu_s`` and ``cpu_pct`` of this process, and
    ``sip_socket_drops``: datagrams the kernel dropped on our SIP socket, its buffer full;
    ``loop_stalls`` and ``gc`` (see :mod:`bench.probes`)."""
    loop = asyncio.get_running_loop()
    trunk = Trunk(host=proxy[0], port=proxy[1], username=username, password=password)
    gate = asyncio.Semaphore(concurrency)
    attempts: list[Attempt] = []

    async with Softphone("127.0.0.1") as phone:

        async def one() -> None:
            attempt = Attempt(loop.time())
            attempts.append(attempt)
            try:
                call = await phone.dial(number, trunk=trunk, ring_timeout=timeout, media_timeout=None)
                # Bounds beyond the UA's own timers (ring timeout; Timer B/F, 64*T1 = 32 s,
                # RFC 3261 s17.1.1.2/s17.1.2.2), so that each call ends with its real outcome.
                await asyncio.wait([call.answered], timeout=timeout + TRANSACTION_TIMEOUT)
                if call.answered.done() and call.answered.result():
                    attempt.answered = loop.time()
                    call.hangup()
                await asyncio.wait([call.result], timeout=TRANSACTION_TIMEOUT + 5)
                if call.result.done():
                    result = call.result.result()
                    attempt.ended = loop.time()
                    attempt.outcome = str(result.outcome) + (f" {result.sip_status}" if result.sip_status and not attempt.answered else "")
                    attempt.ok = result.outcome == CallOutcome.ANSWERED and result.hangup_by == HangupBy.US
                else:
                    call.hangup()
            except DialerError as exc:  # e.g. no RTP port left: a failed attempt, not a crash
                attempt.outcome = f"error: {type(exc).__name__}: {exc}"
            finally:
                gate.release()

        stalls = LoopStalls()
        stalls.start()
        pauses = GcPauses()
        pauses.start()
        cpu0 = _cpu()
        start = loop.time()
        tasks = []
        for index in range(calls):
            delay = start + index / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await gate.acquire()
            tasks.append(asyncio.create_task(one()))
        await asyncio.wait(tasks, timeout=timeout + 2 * TRANSACTION_TIMEOUT + 15)
        cpu = _cpu() - cpu0
        pauses.stop()
        await stalls.stop()
        sip_drops = udp_drops(phone.endpoint.port)

    ends = [a.ended for a in attempts if a.ended is not None]
    elapsed = (max(ends) if ends else loop.time()) - start
    ok = sum(1 for a in attempts if a.ok)
    setup = np.array([a.answered - a.started for a in attempts if a.answered is not None])
    failures = Counter(a.outcome for a in attempts if not a.ok)
    return {
        "calls": calls,
        "rate": rate,
        "concurrency": concurrency,
        "ok": ok,
        "failed": calls - ok,
        "failures": dict(failures),
        "elapsed_s": elapsed,
        "achieved_cps": ok / elapsed if elapsed > 0 else 0.0,
        "setup_ms": {
            "p50": float(np.percentile(setup, 50)) * 1000 if len(setup) else None,
            "p99": float(np.percentile(setup, 99)) * 1000 if len(setup) else None,
        },
        "cpu_s": cpu,
        "cpu_pct": 100.0 * cpu / elapsed if elapsed > 0 else 0.0,
        "sip_socket_drops": sip_drops,
        "loop_stalls": stalls.report(),
        "gc": pauses.report(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.setups", description=__doc__.split("\n\n")[0])
    parser.add_argument("--proxy", required=True, help="HOST:PORT of the proxy (the trunk)")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0, help="calls started per second")
    parser.add_argument("--concurrency", type=int, default=200, help="most calls in progress at once")
    parser.add_argument("--timeout", type=float, default=30.0, help="ring timeout of each call (seconds)")
    args = parser.parse_args(argv)
    host, _, port = args.proxy.rpartition(":")
    result = asyncio.run(
        run(
            (host, int(port)),
            args.user,
            args.password,
            calls=args.calls,
            rate=args.rate,
            concurrency=args.concurrency,
            timeout=args.timeout,
        )
    )
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
