"""Benchmarks of the dialer core, one command: ``python -m bench.dialer [--quick]``.

1. Concurrent answered calls against a sipp UAS on loopback (``bench/concurrent.py`` in its
   own process; sipp sends an RFC 4733 digit every 2.5 s, we send a looping prompt): CPU per
   call, spacing of our sent packets (target 20 ms), calls lost, digits received.
2. Call setups per second through Kamailio with digest auth (INVITE/407/ACK/INVITE/200/ACK/
   BYE) to a sipp UAS: our dialer (``bench/setups.py``) and then sipp as the caller, at the
   same offered rates, against the same proxy and far end, in the same run.

Prints rich tables; ``--json FILE`` keeps the raw figures, ``--markdown`` also prints the
tables as Markdown for BENCHMARKS.md. Every child process is stopped by its PID, every wait is
bounded.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import platform
import pstats
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.peers import PeerError, Proc, start_kamailio, start_sipp_uac, start_sipp_uas

ROOT = Path(__file__).resolve().parent.parent
USER, PASSWORD = "bench", "bench-s3cret"
GOAL_CALLS, GOAL_P99_MS, GOAL_CPS = 500, 25.0, 200.0


def machine() -> dict[str, Any]:
    """nproc, CPU model, Python, load average, date."""
    model = ""
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout.splitlines():
            if line.startswith("Model name"):
                model = line.split(":", 1)[1].strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "load_avg_1m": os.getloadavg()[0],
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def process_cpu(pgid: int) -> float:
    """User+sys CPU seconds of every live process in process group ``pgid`` (ours)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # after "pid (comm)": state ppid pgrp ...; utime, stime at 11, 12
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _worker(module: str, args: list[str], timeout: float) -> dict[str, Any]:
    """Run ``python -m module args`` from the repository root; its last stdout line is JSON."""
    argv = [sys.executable, "-m", module, *args]
    popen = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = popen.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        popen.kill()
        out, err = popen.communicate(timeout=10)
        return {"error": f"{module} did not finish in {timeout:g} s", "stderr": err[-2000:]}
    if popen.returncode != 0 or not out.strip():
        return {"error": f"{module} exited with {popen.returncode}", "stderr": err[-2000:]}
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


# ----------------------------------------------------------------------- 1. concurrent calls


def bench_concurrent(
    counts: list[int],
    hold: float,
    ramp: float,
    workdir: Path,
    console: Console,
    profile: Path | None = None,
    phases: int | None = None,
) -> list[dict[str, Any]]:
    rows = []
    for calls in counts:
        console.print(f"[bold]concurrent[/]: {calls} calls held {hold:g} s ...")
        load = os.getloadavg()[0]
        uas = start_sipp_uas("uas_hold_dtmf.xml", workdir)
        args = ["--target", f"127.0.0.1:{uas.extra['port']}", "--calls", str(calls), "--hold", str(hold), "--ramp", str(ramp)]
        if phases is not None:
            args += ["--phases", str(phases)]
        if profile is not None:
            profile.mkdir(parents=True, exist_ok=True)
            args += ["--profile", str(profile / f"concurrent-{calls}.prof")]
        try:
            cpu0 = process_cpu(uas.pid)
            result = _worker("bench.concurrent", args, timeout=calls / ramp + hold + 150)
            result["sipp_cpu_s"] = process_cpu(uas.pid) - cpu0  # over the whole run, not the window
            result["sipp_alive"] = uas.alive()
        finally:
            uas.stop()
        result["load_1m"] = load
        rows.append(result)
        if "error" in result:
            console.print(f"[red]{result['error']}[/]\n{result.get('stderr', '')}")
    return rows


def _meets(r: dict[str, Any]) -> bool:
    p99 = r["spacing_ms"]["p99"]
    return r["lost"] == 0 and p99 is not None and p99 < GOAL_P99_MS


def concurrent_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Concurrent answered calls against a sipp UAS on loopback (target spacing 20 ms)")
    names = (
        "calls", "answered", "lost", "CPU per call\n% of a core", "dialer\nCPU %", "spacing\np50 ms", "p99 ms",
        "p99.9 ms", "max ms", "> 25 ms", "tick work\np50/p99 ms", "digits rx /\nexpected", "load\n1 min",
        "p99 < 25 ms,\nnone lost",
    )  # fmt: skip
    for name in names:
        table.add_column(name, justify="right")
    for r in rows:
        if "error" in r:
            table.add_row(str(r.get("calls", "?")), "[red]error[/]", *[""] * (len(names) - 2))
            continue
        s, d, w = r["spacing_ms"], r["digits"], r["tick_work_ms"]
        digits = f"{d['received']}/{d['expected']}" + (f" ({d['out_of_order_calls']} bad)" if d["out_of_order_calls"] else "")
        table.add_row(
            str(r["calls"]), str(r["answered"]), str(r["lost"]),
            f"{r['cpu_per_call_pct']:.3f}", f"{r['cpu_pct']:.0f}",
            f"{s['p50']:.2f}", f"{s['p99']:.2f}", f"{s['p999']:.2f}", f"{s['max']:.1f}", f"{r['over_25ms_pct']:.2f}%",
            f"{w['p50']:.1f}/{w['p99']:.1f}", digits, f"{r['load_1m']:.2f}",
            "[green]yes[/]" if _meets(r) else "[red]no[/]",
        )  # fmt: skip
    return table


# ----------------------------------------------------------------------- 2. call setups


def _sipp_summary(proc: Proc, wall: float, calls: int, rate: float) -> dict[str, Any]:
    stats_path = proc.extra["stats"]
    assert isinstance(stats_path, Path)
    lines = stats_path.read_text().splitlines() if stats_path.exists() else []
    if len(lines) < 2:
        return {"error": f"sipp wrote no statistics (exit {proc.popen.returncode})", "stderr": proc.tail()}
    header, last = lines[0].split(";"), lines[-1].split(";")
    row = dict(zip(header, last))
    ok, failed = int(row["SuccessfulCall(C)"]), int(row["FailedCall(C)"])
    started = float(row["StartTime"].split("\t")[-1])
    current = float(row["CurrentTime"].split("\t")[-1])
    elapsed = current - started if current > started else wall
    return {
        "calls": calls, "rate": rate, "ok": ok, "failed": calls - ok, "failed_reported": failed,
        "elapsed_s": elapsed, "achieved_cps": ok / elapsed if elapsed > 0 else 0.0,
        "exit": proc.popen.returncode, "retransmissions": int(row.get("Retransmissions(C)", "0") or 0),
    }  # fmt: skip


def bench_setups(rates: list[float], seconds: float, workdir: Path, console: Console) -> list[dict[str, Any]]:
    rows = []
    uas = start_sipp_uas("uas_answer.xml", workdir)
    kamailio = None
    try:
        kamailio = start_kamailio(("127.0.0.1", int(uas.extra["port"])), workdir, username=USER, password=PASSWORD)
        proxy = f"127.0.0.1:{kamailio.extra['port']}"
        for rate in rates:
            calls = int(rate * seconds)
            limit = max(50, int(rate))
            load = os.getloadavg()[0]
            console.print(f"[bold]setups[/]: {calls} calls at {rate:g}/s through Kamailio: our dialer ...")
            k0 = process_cpu(kamailio.pid)
            ours = _worker(
                "bench.setups",
                ["--proxy", proxy, "--user", USER, "--password", PASSWORD, "--calls", str(calls), "--rate", str(rate), "--concurrency", str(limit)],
                timeout=seconds * 3 + 180,
            )
            ours["kamailio_cpu_s"] = process_cpu(kamailio.pid) - k0
            time.sleep(2.0)  # let the last transactions of the proxy and the far end finish
            console.print(f"[bold]setups[/]: {calls} calls at {rate:g}/s through Kamailio: sipp as the caller ...")
            k0 = process_cpu(kamailio.pid)
            children0 = _children_cpu()
            t0 = time.monotonic()
            uac = start_sipp_uac(
                ("127.0.0.1", int(kamailio.extra["port"])), workdir,
                calls=calls, rate=rate, limit=limit, username=USER, password=PASSWORD,
            )  # fmt: skip
            try:
                if uac.wait(seconds * 3 + 90) is None:
                    uac.stop()
                sipp = _sipp_summary(uac, time.monotonic() - t0, calls, rate)
            finally:
                uac.stop()
            sipp["cpu_s"] = _children_cpu() - children0  # sipp was reaped: its whole CPU time
            sipp["kamailio_cpu_s"] = process_cpu(kamailio.pid) - k0
            rows.append({"rate": rate, "calls": calls, "ours": ours, "sipp": sipp, "load_1m": load})
            for side in (ours, sipp):
                if "error" in side:
                    console.print(f"[red]{side['error']}[/]\n{side.get('stderr', '')}")
            time.sleep(2.0)
    finally:
        if kamailio is not None:
            kamailio.stop()
        uas.stop()
    return rows


def _pct(cpu: float | None, elapsed: float | None) -> str:
    return f"{100.0 * cpu / elapsed:.0f}" if cpu is not None and elapsed else ""


def _setup_ok(side: dict[str, Any], rate: float) -> bool:
    return "error" not in side and side["failed"] == 0 and side["achieved_cps"] >= 0.97 * rate


def setups_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Call setups per second through Kamailio with digest auth (INVITE/407/ACK/INVITE/200/ACK/BYE)")
    names = (
        "offered\ncalls/s", "calls", "ours\nachieved/s", "ours\nfailed", "ours setup\np50/p99 ms", "ours\nCPU %",
        "Kamailio\nCPU %", "sipp\nachieved/s", "sipp\nfailed", "sipp\nCPU %", "Kamailio\nCPU %", "load\n1 min",
    )  # fmt: skip
    for name in names:
        table.add_column(name, justify="right")
    for r in rows:
        o, s = r["ours"], r["sipp"]
        ours = (
            [f"{o['achieved_cps']:.1f}", str(o["failed"]), f"{o['setup_ms']['p50'] or 0:.1f}/{o['setup_ms']['p99'] or 0:.1f}",
             f"{o['cpu_pct']:.0f}", _pct(o.get("kamailio_cpu_s"), o["elapsed_s"])]
            if "error" not in o else ["[red]error[/]", "", "", "", ""]
        )  # fmt: skip
        sipp = (
            [f"{s['achieved_cps']:.1f}", str(s["failed"]), _pct(s.get("cpu_s"), s["elapsed_s"]), _pct(s.get("kamailio_cpu_s"), s["elapsed_s"])]
            if "error" not in s else ["[red]error[/]", "", "", ""]
        )  # fmt: skip
        if _setup_ok(o, r["rate"]):
            ours[0] = f"[green]{ours[0]}[/]"
        elif "error" not in o:
            ours[0] = f"[red]{ours[0]}[/]"
        table.add_row(f"{r['rate']:g}", str(r["calls"]), *ours, *sipp, f"{r.get('load_1m', 0):.2f}")
    return table


# ----------------------------------------------------------------------- markdown


def markdown(conc: list[dict[str, Any]], setups: list[dict[str, Any]]) -> str:
    out = []
    if conc:
        out.append(
            "| calls | answered | lost | CPU per call (% of a core) | dialer CPU % | spacing p50 / p99 / p99.9 / max (ms) "
            "| intervals > 25 ms | tick work p50 / p99 (ms) | digits received / expected | load (1 min) |"
        )
        out.append("|---:|---:|---:|---:|---:|---|---:|---|---:|---:|")
        for r in conc:
            if "error" in r:
                out.append(f"| {r.get('calls', '?')} | error: {r['error']} | | | | | | | | |")
                continue
            s, d, w = r["spacing_ms"], r["digits"], r["tick_work_ms"]
            out.append(
                f"| {r['calls']} | {r['answered']} | {r['lost']} | {r['cpu_per_call_pct']:.3f} | {r['cpu_pct']:.0f} | "
                f"{s['p50']:.2f} / {s['p99']:.2f} / {s['p999']:.2f} / {s['max']:.1f} | {r['over_25ms_pct']:.2f}% | "
                f"{w['p50']:.1f} / {w['p99']:.1f} | {d['received']} / {d['expected']} | {r['load_1m']:.2f} |"
            )
    if setups:
        out.append("")
        out.append(
            "| offered calls/s | calls | our dialer: achieved/s | failed | setup p50 / p99 (ms) | dialer CPU % "
            "| sipp caller: achieved/s | failed | sipp CPU % | load (1 min) |"
        )
        out.append("|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|")
        for r in setups:
            o, s = r["ours"], r["sipp"]
            ours = (
                f"{o['achieved_cps']:.1f} | {o['failed']} | {o['setup_ms']['p50'] or 0:.1f} / {o['setup_ms']['p99'] or 0:.1f} | {o['cpu_pct']:.0f}"
                if "error" not in o else "error | | |"
            )  # fmt: skip
            theirs = f"{s['achieved_cps']:.1f} | {s['failed']} | {_pct(s.get('cpu_s'), s['elapsed_s'])}" if "error" not in s else "error | |"
            out.append(f"| {r['rate']:g} | {r['calls']} | {ours} | {theirs} | {r.get('load_1m', 0):.2f} |")
    return "\n".join(out)


def verdicts(conc: list[dict[str, Any]], setups: list[dict[str, Any]]) -> list[str]:
    """One line per goal of the issue, with the figure that decides it."""
    lines = []
    if conc:
        big = [r for r in conc if "error" not in r and r["calls"] >= GOAL_CALLS]
        if big:
            r = big[-1]
            state = "met" if _meets(r) else "missed"
            lines.append(
                f"Goal {GOAL_CALLS} concurrent calls, p99 spacing < {GOAL_P99_MS:g} ms, none lost: {state} "
                f"(p99 {r['spacing_ms']['p99']:.2f} ms, {r['lost']} lost)"
            )
    if setups:
        def best(side: str) -> float:
            return max((r["rate"] for r in setups if _setup_ok(r[side], r["rate"])), default=0.0)

        ours, sipp = best("ours"), best("sipp")
        state = "met" if ours >= GOAL_CPS else "missed"
        lines.append(
            f"Goal >= {GOAL_CPS:g} setups/s with no failures: {state} (highest offered rate sustained with no "
            f"failure: ours {ours:g}/s, sipp {sipp:g}/s)"
        )
    return lines


def print_profile(path: Path, console: Console, top: int = 15) -> None:
    """The functions that took the most time (own time) in a profiled hold window."""
    buffer = io.StringIO()
    pstats.Stats(str(path), stream=buffer).strip_dirs().sort_stats("tottime").print_stats(top)
    console.print(f"[bold]{path.name}[/] (cProfile, hold window)")
    console.print(buffer.getvalue().split("\n", 4)[-1], markup=False, highlight=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dialer", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50 calls held 10 s; setups at 100 and 200/s for 3 s")
    parser.add_argument("--only", choices=("concurrent", "setups"), help="run one of the two benchmarks")
    parser.add_argument("--calls", help="comma-separated call counts (default 100,250,500)")
    parser.add_argument("--hold", type=float, help="seconds the calls are held (default 30)")
    parser.add_argument("--rates", help="comma-separated offered setup rates (default 50,100,200,300,400)")
    parser.add_argument("--seconds", type=float, help="seconds of calls per setup rate (default 10)")
    parser.add_argument("--ramp", type=float, default=100.0, help="calls/s while building up the concurrent calls")
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    parser.add_argument("--profile", type=Path, help="cProfile each concurrent run's hold window into this directory")
    parser.add_argument("--phases", type=int, help="media clock phases (default: the engine's, dialer.media.PHASES)")
    parser.add_argument("--markdown", action="store_true", help="also print the tables as Markdown")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.calls.split(",")] if args.calls else ([50] if args.quick else [100, 250, 500])
    hold = args.hold if args.hold is not None else (10.0 if args.quick else 30.0)
    rates = [float(r) for r in args.rates.split(",")] if args.rates else ([100.0, 200.0] if args.quick else [50.0, 100.0, 200.0, 300.0, 400.0])
    seconds = args.seconds if args.seconds is not None else (3.0 if args.quick else 10.0)

    console = Console(width=None if sys.stdout.isatty() else 160)
    facts = machine()
    command = "python -m bench.dialer " + shlex.join(argv if argv is not None else sys.argv[1:])
    console.print(f"{command.strip()}  |  {facts['nproc']} x {facts['cpu']}  |  Python {facts['python']}  |  load {facts['load_avg_1m']:.2f}  |  {facts['date']}")
    conc: list[dict[str, Any]] = []
    setups: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-dialer-") as tmp:
        workdir = Path(tmp)
        try:
            if args.only in (None, "concurrent"):
                conc = bench_concurrent(counts, hold, args.ramp, workdir, console, args.profile, args.phases)
                console.print(concurrent_table(conc))
                for prof in sorted(args.profile.glob("concurrent-*.prof")) if args.profile else []:
                    print_profile(prof, console)
            if args.only in (None, "setups"):
                setups = bench_setups(rates, seconds, workdir, console)
                console.print(setups_table(setups))
        except PeerError as exc:
            console.print(f"[red]a peer failed:[/] {exc}")
            return 1
    for line in verdicts(conc, setups):
        console.print(line)
    if args.markdown:
        console.print(markdown(conc, setups), markup=False, highlight=False, soft_wrap=True)
    if args.json:
        args.json.write_text(json.dumps({"command": command.strip(), "machine": facts, "concurrent": conc, "setups": setups}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
