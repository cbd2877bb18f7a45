#!/usr/bin/env python3
"""Turns the slices recorded by scripts/bench.sh into the markdown of BENCHMARKS.md.

Every figure is a median over rounds; every ratio is the median of per-round ratios, never a
ratio of two medians: a slice against the bare slices just before and after it, and ours
against the peer doing the same work (actix-session on actix-web, tower-sessions on axum) as the
quotient of those two normalised figures. Standard library only.
"""

import argparse
import csv
import datetime
import os
import platform
import re
import statistics
import subprocess
import sys
from collections import defaultdict

BEGIN = "<!-- bench-results:begin -->"
END = "<!-- bench-results:end -->"

WORKLOAD_TITLES = {
    "counter": "`GET /counter` (read, increment, write)",
    "read": "`GET /read` (read only)",
    "plain": "`GET /plain` (session cookie sent, session never touched)",
}

# Ours -> the peer's mode doing the same work: actix-session on actix-web, tower-sessions on axum.
PEER = {
    "cookie-signed": "actix-cookie-signed",
    "cookie-encrypted": "actix-cookie-private",
    "redis": "actix-redis",
    "axum-memory": "tower-memory",
    "axum-redis": "tower-redis",
}
OURS = ["cookie-signed", "cookie-encrypted", "memory", "fs", "fs-fsync", "redis"]
REDIS_MODES = {"redis", "actix-redis", "axum-redis", "tower-redis"}


def run(command):
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = run(["free", "-h"]).splitlines()
    mem_line = next((line for line in memory if line.startswith("Mem:")), "")
    total = mem_line.split()[1] if mem_line else "?"
    commit = run(["git", "rev-parse", "--short=12", "HEAD"]) or "?"
    dirty = run(["git", "status", "--porcelain", "--untracked-files=no"])
    return {
        "nproc": run(["nproc"]) or str(os.cpu_count()),
        "memory": total,
        "cpu": model or platform.processor() or "?",
        "kernel": platform.release(),
        "rustc": run(["rustc", "--version"]),
        "wrk": " ".join(run(["wrk", "--version"]).split()[:2]),
        "redis": " ".join(run(["redis-server", "--version"]).split()[:3]),
        "commit": commit + (" (working tree has uncommitted changes)" if dirty else ""),
    }


def load_line(text):
    values = [float(v) for v in text.split()]
    if not values:
        return "Load average during the run: not recorded."
    return (
        f"1-minute load average during the run: median {statistics.median(values):.1f}, "
        f"max {max(values):.1f} (this benchmark alone keeps it near 2: wrk and one server; "
        "more means other work shared the machine)."
    )


def load(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def fmt_ratio(values, digits=2):
    if not values:
        return "—"
    median = statistics.median(values)
    if len(values) == 1:
        return f"{median:.{digits}f}x"
    return f"{median:.{digits}f}x ({min(values):.2f}–{max(values):.2f})"


def fmt_us(value):
    return f"{value / 1000:.2f} ms" if value >= 1000 else f"{value:.0f} µs"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", required=True)
    parser.add_argument("--rss", required=True)
    parser.add_argument("--rounds", type=int, required=True)
    parser.add_argument("--slice-secs", type=int, required=True)
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--load-averages", default="", help="1-minute load averages, spaced")
    parser.add_argument("--out", default="BENCHMARKS.md", help='"-" only prints')
    args = parser.parse_args()

    ticks_per_second = os.sysconf("SC_CLK_TCK")
    rows = load(args.results)
    rss = {}
    with open(args.rss) as handle:
        for line in handle:
            name, kib = line.split()
            rss[name] = int(kib) / 1024

    # (workload, mode) -> list of slices; (workload, round) -> position -> bare slice
    data = defaultdict(list)
    bare = defaultdict(dict)
    modes, workloads = [], []
    for row in rows:
        workload, mode = row["workload"], row["mode"]
        modes += [mode] if mode not in modes else []
        workloads += [workload] if workload not in workloads else []
        requests = int(row["requests"])
        seconds = int(row["duration_us"]) / 1e6
        per_request = 1e6 / ticks_per_second / max(requests, 1)
        measured = {
            "round": int(row["round"]),
            "position": int(row["position"]),
            "rps": requests / seconds,
            "p50": int(row["p50_us"]),
            "p99": int(row["p99_us"]),
            "cpu": int(row["cpu_ticks"]) * per_request,
            "redis_cpu": int(row["redis_cpu_ticks"]) * per_request,
            "errors": int(row["socket_errors"]) + int(row["status_errors"]),
        }
        data[(workload, mode)].append(measured)
        if mode == "bare":
            bare[(workload, measured["round"])][measured["position"]] = measured

    # Each slice's reference: the mean of the bare slices just before and after it.
    for (workload, mode), slices in data.items():
        for measured in slices:
            if mode == "bare":
                continue
            beside = bare.get((workload, measured["round"]), {})
            before = [p for p in beside if p < measured["position"]]
            after = [p for p in beside if p > measured["position"]]
            near = [beside[max(before)]] * bool(before) + [beside[min(after)]] * bool(after)
            for key in ("rps", "cpu"):
                values = [b[key] for b in near if b[key]]
                measured["bare_" + key] = sum(values) / len(values) if values else None

    ours_then_peers = ["bare"] + OURS + [m for m in PEER if m not in OURS] + list(PEER.values())
    order = [m for m in ours_then_peers if m in modes]
    order += [m for m in modes if m not in order]

    def normalised(measured, key):
        reference = measured.get("bare_" + key)
        return measured[key] / reference if reference else None

    def ratios(workload, mode, other, key="rps"):
        """Per round: mode against the bare slices beside it, or (when `other` is another
        mode) that normalised figure against `other`'s."""
        mine = {m["round"]: normalised(m, key) for m in data.get((workload, mode), [])}
        if other == "bare":
            return [v for v in mine.values() if v]
        theirs = {m["round"]: normalised(m, key) for m in data.get((workload, other), [])}
        return [mine[r] / theirs[r] for r in mine if mine[r] and theirs.get(r)]

    def median(workload, mode, key):
        return statistics.median(v[key] for v in data[(workload, mode)])

    info = machine()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        BEGIN,
        "",
        f"_Generated by `scripts/bench.sh` on {now}: {args.rounds} rounds, "
        f"{args.slice_secs} s slices, `wrk -t1 -c{args.connections}`, commit "
        f"{info['commit']}._",
        "",
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']} memory, "
        f"Linux {info['kernel']}; {info['rustc']}; {info['wrk']}; {info['redis']}.",
        "",
        load_line(args.load_averages),
        "",
        "Each cell is the median over rounds (bare: over all its slices). `x bare` is the "
        "median over rounds of a slice's requests/s divided by the mean of the bare slices "
        "just before and after it; `x peer` is the median over rounds of that "
        "normalised figure of ours divided by the peer's doing the same work (actix-session's "
        "on actix-web, tower-sessions' on axum). The lowest and highest round "
        "are in parentheses. "
        "CPU is the server process's user + system time per request (all its threads); for "
        "the Redis modes the Redis server's own CPU per request is listed separately. "
        "`CPU x bare` is the same ratio for CPU per request (higher is costlier).",
    ]
    for workload in workloads:
        out += [
            "",
            f"### {WORKLOAD_TITLES.get(workload, workload)}",
            "",
            "| mode | requests/s | x bare | x peer | p50 | p99 | CPU µs/req "
            "| CPU x bare | Redis CPU µs/req | peak RSS MiB |",
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for mode in order:
            if (workload, mode) not in data:
                continue
            errors = sum(v["errors"] for v in data[(workload, mode)])
            name = f"{mode} (**{errors} errors**)" if errors else mode
            vs_bare = "—" if mode == "bare" else fmt_ratio(ratios(workload, mode, "bare"))
            peer = PEER.get(mode)
            vs_actix = (
                f"{fmt_ratio(ratios(workload, mode, peer))} vs {peer}"
                if peer and (workload, peer) in data
                else "—"
            )
            cpu_vs_bare = (
                "—" if mode == "bare" else fmt_ratio(ratios(workload, mode, "bare", "cpu"))
            )
            redis_cpu = (
                f"{median(workload, mode, 'redis_cpu'):.1f}" if mode in REDIS_MODES else "—"
            )
            out.append(
                f"| {name} | {median(workload, mode, 'rps'):,.0f} | {vs_bare} | {vs_actix} "
                f"| {fmt_us(median(workload, mode, 'p50'))} "
                f"| {fmt_us(median(workload, mode, 'p99'))} "
                f"| {median(workload, mode, 'cpu'):.1f} | {cpu_vs_bare} | {redis_cpu} "
                f"| {rss.get(mode, float('nan')):.1f} |"
            )

    # The targets, judged on these numbers.
    targets = []

    def target(text, ok, measured):
        if ok is None:
            targets.append(f"| {text} | not measured | — |")
        else:
            targets.append(f"| {text} | {measured} | {'met' if ok else '**not met**'} |")

    def ratio_target(text, workload, mode, other, goal):
        values = ratios(workload, mode, other)
        if not values:
            return target(text, None, "")
        # Three digits, so a median just under the goal does not print as the goal itself.
        return target(text, statistics.median(values) >= goal, fmt_ratio(values, 3))

    ratio_target(
        "client-side encrypted `/counter` ≥ 1.3x actix-session private cookie",
        "counter", "cookie-encrypted", "actix-cookie-private", 1.3,
    )
    ratio_target(
        "client-side encrypted `/counter` ≥ 0.8x bare", "counter", "cookie-encrypted", "bare", 0.8
    )
    for mode in [m for m in order if m != "bare"]:
        if mode in OURS:
            label = ""
        elif mode.startswith("axum-"):
            label = " (axum, against actix-web's bare)"
        elif mode.startswith("tower-"):
            label = " (tower-sessions on axum, for reference, against actix-web's bare)"
        else:
            label = " (actix-session, for reference)"
        ratio_target(f"`/plain` with a cookie ≥ 0.97x bare: {mode}{label}", "plain", mode, "bare",
                     0.97)
    ratio_target(
        "Redis `/counter` ≥ 1.3x actix-session Redis", "counter", "redis", "actix-redis", 1.3
    )
    if ("counter", "redis") in data and ("counter", "actix-redis") in data:
        ours, theirs = median("counter", "redis", "p99"), median("counter", "actix-redis", "p99")
        target("Redis `/counter` p99 lower than actix-session Redis", ours < theirs,
               f"{fmt_us(ours)} vs {fmt_us(theirs)}")
    else:
        target("Redis `/counter` p99 lower than actix-session Redis", None, "")
    out += ["", "### Targets", "", "| target | measured | |", "|---|--:|---|"] + targets
    out += ["", END]
    block = "\n".join(out) + "\n"

    print(block)
    if args.out == "-":
        return
    try:
        with open(args.out) as handle:
            text = handle.read()
    except FileNotFoundError:
        text = ""
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n?", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text + ("\n" if text and not text.endswith("\n") else "") + block
    with open(args.out, "w") as handle:
        handle.write(text)
    print(f"written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
