#!/usr/bin/env python3
"""Throughput on a shared machine (README, "Threads on a shared machine").

Runs build/ganomaly_bench (training and scoring, 64 px, batch 32 unless --batch) at --threads 1 and 2
while another process keeps one core busy (`yes > /dev/null`), under each OpenMP wait
policy asked for, in alternating order, and prints every measurement, then the median
and range of each case. The numbers move with whatever else runs on the machine: run it
alone where you can, and read the ranges.

    python3 tools/busy_core_bench.py build/ganomaly_bench --reps 3 --policies default,passive,active
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

LINE = re.compile(r"train +([0-9.]+) img/s .*score +([0-9.]+) img/s")


def measure(bench, threads, policy, steps, busy, batch):
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    env.pop("OMP_NUM_THREADS", None)
    if policy != "default":
        env["OMP_WAIT_POLICY"] = policy
    loop = subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) if busy else None
    try:
        out = subprocess.run([bench, "--configs", f"64:{batch}:{threads}", "--steps", str(steps), "--warmup", "1",
                              "--reps", "1"], env=env, capture_output=True, text=True, check=True).stdout
    finally:
        if loop:
            loop.kill()
            loop.wait()
    for line in out.splitlines():
        m = LINE.search(line)
        if m and "ours" in line:
            return float(m.group(1)), float(m.group(2))
    sys.exit(f"busy_core_bench: no measurement in the bench's output:\n{out}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bench", help="the ganomaly_bench binary")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--policies", default="default,passive",
                   help="OMP_WAIT_POLICY values to try; 'default' leaves it unset (the binary's own default)")
    p.add_argument("--quiet-too", action="store_true", help="also measure without the busy loop")
    a = p.parse_args()
    cases = [(busy, policy, threads) for busy in ([True, False] if a.quiet_too else [True])
             for policy in a.policies.split(",") for threads in (1, 2)]
    results = {c: [] for c in cases}
    with open("/proc/loadavg") as f:
        print("load average before:", f.read().split()[:3], flush=True)
    for rep in range(a.reps):
        for c in cases:
            busy, policy, threads = c
            train, score = measure(a.bench, threads, policy, a.steps, busy, a.batch)
            results[c].append((train, score))
            print(f"rep {rep + 1}: {'one core busy' if busy else 'no busy loop'}, OMP_WAIT_POLICY {policy}, "
                  f"--threads {threads}: train {train:.2f} img/s, score {score:.2f} img/s", flush=True)
    print("\n| busy loop | OMP_WAIT_POLICY | threads | train img/s median (min-max) | score img/s median (min-max) |")
    print("|---|---|---|---|---|")
    for c, v in results.items():
        busy, policy, threads = c
        t = [x[0] for x in v]
        s = [x[1] for x in v]
        print(f"| {'one core' if busy else 'none'} | {policy} | {threads} | {statistics.median(t):.2f} "
              f"({min(t):.2f}-{max(t):.2f}) | {statistics.median(s):.2f} ({min(s):.2f}-{max(s):.2f}) |")
    with open("/proc/loadavg") as f:
        print("load average after:", f.read().split()[:3])


if __name__ == "__main__":
    main()
