#!/usr/bin/env python3
"""Keep only the operations on one key of a kv JSON Lines history.

    scripts/restrict-history.py HISTORY.kv.jsonl KEY > OUT.kv.jsonl

A kv history is linearizable exactly when each key's sub-history is
(the kv model is partitioned by key), so the sub-history of a key that
`raftcheck lin --json` reports as `refuted_partition` is a small history
with the same verdict: how the corpus's bad histories were cut down.
"""
import json
import sys

if len(sys.argv) != 3:
    sys.exit(__doc__)
with open(sys.argv[1]) as history:
    for line in history:
        if line.strip() and json.loads(line).get("key") == sys.argv[2]:
            sys.stdout.write(line)
