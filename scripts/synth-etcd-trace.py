#!/usr/bin/env python3
"""Writes a long synthetic trace in etcd-raft's TracingEvent schema, for
measuring `raftcheck trace` on etcd traces (BENCHMARKS.md).

Three voters; node 1 leads term 2 from the bootstrap and replicates one
entry at a time: Replicate, an AppendEntries to each follower, Ready, each
follower's receive, answer and Ready, the leader's receive of each answer,
Commit. Valid under the spec; it exercises reading, the message matching
and the commit quorum, not elections.

    python3 scripts/synth-etcd-trace.py EVENTS OUT.ndjson
"""

import json
import sys


def main():
    events, path = int(sys.argv[1]), sys.argv[2]
    conf = [["1", "2", "3"], []]
    state = {n: {"term": 2, "vote": "1", "commit": 5, "log": 5} for n in "123"}
    role = {"1": "StateLeader", "2": "StateFollower", "3": "StateFollower"}
    written = 0
    with open(path, "w") as out:

        def event(name, node, msg=None):
            nonlocal written
            s = state[node]
            e = {"name": name, "nid": node, "state": {"term": s["term"], "vote": s["vote"], "commit": s["commit"]},
                 "role": role[node], "log": s["log"], "conf": conf}
            if msg:
                e["msg"] = msg
            out.write(json.dumps({"level": "debug", "ts": 0.0, "tag": "trace", "event": e}, separators=(",", ":")))
            out.write("\n")
            written += 1

        def message(kind, sender, to, **fields):
            m = {"type": kind, "term": 2, "from": sender, "to": to, "entries": 0, "logTerm": 0, "index": 0,
                 "commit": 0, "vote": "0", "reject": False, "rejectHint": 0}
            m.update(fields)
            return m

        for n in "123":
            event("InitState", n)
            event("BecomeFollower", n)
        leader = state["1"]
        while written < events:
            event("Replicate", "1")
            leader["log"] += 1
            index = leader["log"]
            prev_term = 1 if index == 6 else 2  # the bootstrap entries are of term 1
            sends = [message("MsgApp", "1", f, entries=1, logTerm=prev_term, index=index - 1,
                             commit=leader["commit"]) for f in "23"]
            for m in sends:
                event("SendAppendEntriesRequest", "1", m)
            event("Ready", "1")
            for m in sends:
                f = m["to"]
                event("ReceiveAppendEntriesRequest", f, m)
                state[f]["log"] = index
                state[f]["commit"] = max(state[f]["commit"], min(m["commit"], index))
                answer = message("MsgAppResp", f, "1", index=index)
                event("SendAppendEntriesResponse", f, answer)
                event("Ready", f)
                event("ReceiveAppendEntriesResponse", "1", answer)
            leader["commit"] = index
            event("Commit", "1")


if __name__ == "__main__":
    main()
