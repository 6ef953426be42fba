#!/usr/bin/env python3
"""Writes a long, highly concurrent single-register history (JSON Lines) for
`raftcheck lin --model register`.

    checker/tools/gen_register_history.py [--processes 50] [--ops 100000]
        [--seed 1] [--bad] > history.register.jsonl

A simulated atomic register serves every process: each operation takes
effect at a random instant inside its own [invoke, return] interval, and a
read returns the value the register held at that instant, so the history is
linearizable. Every process keeps one operation in flight at all times, so
about `--processes` operations overlap everywhere. Writes carry distinct
values. About 1 in 200 operations (`--crashes`) never completes (an
`info`), which leaves it open to the end. With `--bad`, one read near the end returns a
value that was overwritten long before, so the history is not
linearizable. Deterministic for a given seed.
"""

import argparse
import heapq
import json
import random
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=50)
    parser.add_argument("--ops", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bad", action="store_true")
    parser.add_argument("--crashes", type=float, default=0.005, help="share of operations that never complete")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    # Each operation: (process, f, invoke time, effect time, return time).
    # Processes run back to back: a new operation starts right after the
    # previous one returns (a crashed one frees the process at once).
    events = []  # (time, order, line dict)
    effects = []  # (effect time, op index)
    ops = []
    clock = [rng.randrange(1_000) for _ in range(args.processes)]
    next_value = 0
    for i in range(args.ops):
        p = i % args.processes
        start = clock[p]
        length = rng.randrange(50, 5_000)
        effect = start + rng.randrange(length + 1)
        end = start + length
        if rng.random() < 0.5:
            f, value = "write", next_value
            next_value += 1
        else:
            f, value = "read", None
        crashed = rng.random() < args.crashes
        ops.append({"process": p, "f": f, "value": value, "crashed": crashed, "call": start, "ret": end})
        effects.append((effect, i))
        clock[p] = end + 1 + rng.randrange(20)

    # Replay the effects in time order on an atomic register. A crashed
    # write takes effect or not, at random; a crashed read observes nothing.
    register = None
    written_at = {}
    for _, i in sorted(effects):
        op = ops[i]
        if op["f"] == "write":
            if not op["crashed"] or rng.random() < 0.5:
                register = op["value"]
                written_at[register] = i
        else:
            op["value"] = register
    if args.bad:
        reads = [i for i, op in enumerate(ops[-args.ops // 10 :], len(ops) - args.ops // 10)
                 if op["f"] == "read" and not op["crashed"]]
        victim = ops[reads[len(reads) // 2]]
        victim["value"] = 0  # the first value written, overwritten long ago

    order = 0
    for op in ops:
        p = op["process"]
        invoke_value = op["value"] if op["f"] == "write" else None
        events.append((op["call"], 0, order, {"process": p, "type": "invoke", "f": op["f"], "value": invoke_value, "time": op["call"]}))
        order += 1
        kind = "info" if op["crashed"] else "ok"
        events.append((op["ret"], 1, order, {"process": p, "type": kind, "f": op["f"], "value": op["value"], "time": op["ret"]}))
        order += 1
    # A crashed process's id is not reused (Jepsen's convention): give the
    # operations after a crash a fresh process id.
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    fresh = {}
    next_id = args.processes
    out = sys.stdout
    for _, _, _, line in events:
        p = line["process"]
        line["process"] = fresh.get(p, p)
        out.write(json.dumps(line, separators=(",", ":")) + "\n")
        if line["type"] == "info":
            fresh[p] = next_id
            next_id += 1


if __name__ == "__main__":
    main()
