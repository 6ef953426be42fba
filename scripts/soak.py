#!/usr/bin/env python3
"""Run a lab test suite many times in a row and report how often each test
passed and how long it took.

    scripts/soak.py --suite raft --runs 20
    scripts/soak.py --suite raft --runs 5 --beside 'cargo test --release -p raftcheck-model'
    scripts/soak.py --suite kv --runs 10 --log target/soak

The test binaries are built once and copied aside, so rebuilding the
workspace during a soak does not change what is soaked. Each run executes
the suite's test binaries one after the other (tests inside a binary run
side by side, as `cargo test` runs them). `--beside CMD` keeps CMD running
in a loop for the whole soak, to load the machine the way the rest of the
test suite does in CI.

Report: per test, passes / runs and the min / median / max of the time it
printed on its "Passed" line; per test binary, the median wall and CPU time
of a run; every failure with its message and the seed to repeat it. Exit
status 0 when every run of every test passed.
"""

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

SUITES = {
    "raft": ["raft_2a", "raft_2b", "raft_2c", "raft_2d"],
    "kv": ["kv_3a", "kv_3b"],
}

RESULT = re.compile(r"^test (\S+) \.\.\. (ok|FAILED|ignored)")
NAMED = re.compile(r"^.* \.\.\. \[(\S+)\]$")
PASSED = re.compile(r"^\s+\.\.\. Passed --\s+([0-9.]+)")
SEED = re.compile(r"RAFTCHECK_SEED=(\d+)")
# The KV tests print one line per history check.
CHECKED = re.compile(r"^linearizability \[(\S+)\]: (\d+) ops, (\S+) in ([0-9.]+) ms(.*)$")


def build(names, dest):
    """Builds the test binaries and copies them to `dest`; returns paths."""
    args = ["cargo", "test", "--release", "-p", "raftcheck-impl", "--no-run", "--message-format=json"]
    for name in names:
        args += ["--test", name]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("executable"):
            target = msg["target"]["name"]
            if target in names:
                found[target] = msg["executable"]
    missing = [n for n in names if n not in found]
    if missing:
        sys.exit(f"soak: test binaries not built: {missing}")
    dest.mkdir(parents=True, exist_ok=True)
    copies = {}
    for name, path in found.items():
        copy = dest / name
        shutil.copy2(path, copy)
        copies[name] = copy
    return copies


def run_binary(path, log_file):
    """Runs one test binary; returns (wall s, cpu s, per-test outcomes)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.run([str(path), "--nocapture"], capture_output=True, text=True, cwd=Path.cwd())
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    output = proc.stdout + proc.stderr
    if log_file:
        log_file.write(output)
        log_file.flush()
    outcomes, seconds, named = {}, {}, None
    checks = []
    for line in proc.stdout.splitlines():
        m = CHECKED.match(line)
        if m:
            checks.append((m.group(1), int(m.group(2)), m.group(3), float(m.group(4)), "unknown" in m.group(5)))
            continue
        # The harness prints "<description> ... [<test>]" and, on the next
        # line, the lab's "Passed" line with the test's time.
        m = NAMED.match(line)
        if m:
            named = m.group(1)
            continue
        m = PASSED.match(line)
        if m and named:
            seconds[named] = float(m.group(1))
            named = None
            continue
        m = RESULT.match(line)
        if m:
            outcomes[m.group(1)] = (m.group(2), seconds.get(m.group(1)))
    if proc.returncode != 0 and not any(v == "FAILED" for v, _ in outcomes.values()):
        outcomes[f"{path.name} (binary)"] = ("FAILED", None)
    return wall, cpu, outcomes, output, checks


def failure_details(output, test):
    """The panic message and seed printed for `test`, if found."""
    block = output.split(f"---- {test} stdout ----", 1)
    if len(block) < 2:
        return "", None
    text = block[1].split("\n---- ", 1)[0]
    message = next((l.strip() for l in text.splitlines() if l.strip() and "panicked at" not in l), "")
    seed = SEED.search(text)
    return message[:300], seed.group(1) if seed else None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", choices=sorted(SUITES), default="raft")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--beside", help="a command kept running in a loop during the soak")
    parser.add_argument("--log", type=Path, help="a directory for the full output of every run")
    args = parser.parse_args()
    names = SUITES[args.suite]
    binaries = build(names, Path("target") / "soak-bin" / args.suite)

    beside = None
    if args.beside:
        beside = subprocess.Popen(["bash", "-c", f"while true; do {args.beside}; done"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    log_file = None
    if args.log:
        args.log.mkdir(parents=True, exist_ok=True)
        log_file = open(args.log / f"{args.suite}-{int(time.time())}.log", "w")

    passes, times, runs_of, failures = {}, {}, {}, []
    walls = {n: [] for n in names}
    cpus = {n: [] for n in names}
    suite_walls = []
    all_checks = []
    try:
        for run in range(1, args.runs + 1):
            run_started = time.monotonic()
            clean = True
            for name in names:
                wall, cpu, outcomes, output, checks = run_binary(binaries[name], log_file)
                all_checks.extend(checks)
                walls[name].append(wall)
                cpus[name].append(cpu)
                for test, (verdict, seconds) in outcomes.items():
                    runs_of[test] = runs_of.get(test, 0) + 1
                    if verdict == "ok":
                        passes[test] = passes.get(test, 0) + 1
                        if seconds is not None:
                            times.setdefault(test, []).append(seconds)
                    elif verdict == "FAILED":
                        clean = False
                        message, seed = failure_details(output, test)
                        failures.append((run, test, message, seed))
            suite_walls.append(time.monotonic() - run_started)
            print(f"run {run}/{args.runs}: {'clean' if clean else 'FAILED'} in {suite_walls[-1]:.0f} s", flush=True)
    finally:
        if beside:
            os.killpg(beside.pid, 15)

    print(f"\n{args.suite} suite, {args.runs} runs" + (f", beside: {args.beside}" if args.beside else ""))
    print(f"{'test':58} {'passed':>9} {'min':>6} {'median':>7} {'max':>6}")
    for test in sorted(runs_of):
        t = times.get(test, [])
        cols = (f"{min(t):6.1f} {statistics.median(t):7.1f} {max(t):6.1f}" if t else f"{'':6} {'':7} {'':6}")
        print(f"{test:58} {passes.get(test, 0):>4}/{runs_of[test]:<4} {cols}")
    print(f"\n{'binary':12} {'median wall s':>14} {'median cpu s':>13}")
    for name in names:
        print(f"{name:12} {statistics.median(walls[name]):14.1f} {statistics.median(cpus[name]):13.1f}")
    print(f"{'whole suite':12} {statistics.median(suite_walls):14.1f} "
          f"{statistics.median([sum(c) for c in zip(*cpus.values())]):13.1f}")
    if all_checks:
        unknown = sum(1 for c in all_checks if c[4])
        largest = max(all_checks, key=lambda c: c[1])
        slowest = max(all_checks, key=lambda c: c[3])
        print(f"\nlinearizability checks: {len(all_checks)}, unknown within the 1 s budget: {unknown}; "
              f"largest history {largest[1]} ops ({largest[0]}, {largest[3]:.1f} ms); "
              f"slowest check {slowest[3]:.1f} ms ({slowest[0]}, {slowest[1]} ops)")
    if failures:
        print(f"\n{len(failures)} failure(s):")
        for run, test, message, seed in failures:
            print(f"  run {run}: {test}: {message}" + (f" (RAFTCHECK_SEED={seed})" if seed else ""))
    else:
        print("\nno failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
