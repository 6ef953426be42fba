#!/usr/bin/env python3
"""Derives the invalid etcd-raft traces of the regression corpus.

Most are etcd-raft's sample trace (../shared/conformance/etcd-raft/
example.ndjson, Apache-2.0, not copied into the repository) cut to its first
few hundred lines (an etcd trace has no end record, so a cut trace is still
a trace); the others are our own runtime's traces in etcd's schema
(traces/corpus/etcd/valid/ours-*.ndjson, the native corpus traces written
again by `cargo run -p raftcheck-traces --example native-to-etcd`), which
have elections in several terms, crashes and snapshots. Each has one edit
that breaks one rule of the Raft spec
(traces/src/spec/). The line `raftcheck trace` must refuse it at follows
from the edit alone, computed here without running the validator, and is
written with the rule to traces/corpus/etcd/expected-failures.tsv, which
tests/etcd_cli.rs checks.

    python3 scripts/make-etcd-invalid-traces.py [path/to/example.ndjson]

Rewrites traces/corpus/etcd/invalid/*.ndjson and the table.
"""

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SAMPLE = ROOT / ".." / "shared" / "conformance" / "etcd-raft" / "example.ndjson"
OURS = ROOT / "traces" / "corpus" / "etcd" / "valid"
OUT = ROOT / "traces" / "corpus" / "etcd" / "invalid"
TABLE = ROOT / "traces" / "corpus" / "etcd" / "expected-failures.tsv"
CUT = 200


def load(path):
    """The sample's lines: (original text, parsed record)."""
    return [(line, json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def ev(rec):
    return rec["event"]


def find(lines, pick, start=0):
    """The 0-based index of the first line at or after `start` whose event satisfies `pick`."""
    for i in range(start, len(lines)):
        if pick(ev(lines[i][1])):
            return i
    raise SystemExit("the sample has no such event: it is not the expected sample")


def edited(rec, change):
    """A copy of the record with `change` applied to its event."""
    rec = json.loads(json.dumps(rec))
    change(rec["event"])
    return rec


def text(rec):
    return json.dumps(rec, separators=(",", ":"))


def is_(name, nid=None, **msg):
    def pick(e):
        if e["name"] != name or (nid is not None and e["nid"] != nid):
            return False
        return all(e.get("msg", {}).get(k) == v for k, v in msg.items())

    return pick


def main():
    sample = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLE
    lines = load(sample)[:CUT]
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.ndjson"):
        old.unlink()
    rows = []

    def write(name, rule, out, line):
        """`out` is a list of texts; `line` (1-based) is where the rule must refuse it."""
        (OUT / name).write_text("".join(t + "\n" for t in out))
        rows.append((f"etcd/invalid/{name}", rule, line))

    texts = [t for t, _ in lines]
    leader = find(lines, is_("BecomeLeader"))
    lid = ev(lines[leader][1])["nid"]

    # Two leaders in one term: another node shows itself leading the same term.
    other = next(n for n in "12345" if n != lid)
    second = edited(lines[leader][1], lambda e: e.update(nid=other))
    write("election-safety-two-leaders.ndjson", "election-safety",
          texts[: leader + 1] + [text(second)] + texts[leader + 1 :], leader + 2)

    # A node grants its vote in a term to a second candidate.
    grant = find(lines, lambda e: e["name"] == "SendRequestVoteResponse" and e["msg"]["from"] != e["msg"]["to"]
                 and not e["msg"]["reject"])
    g = ev(lines[grant][1])
    third = next(n for n in "12345" if n not in (g["msg"]["from"], g["msg"]["to"]))
    again = edited(lines[grant][1], lambda e: e["msg"].update(to=third))
    write("one-vote-twice-in-a-term.ndjson", "one-vote",
          texts[: grant + 1] + [text(again)] + texts[grant + 1 :], grant + 2)

    # A vote granted to a candidate whose log is behind: the candidate's
    # request (sent and received alike) claims one entry fewer than the voter holds.
    g_from, g_to = g["msg"]["from"], g["msg"]["to"]
    req = find(lines, is_("SendRequestVoteRequest", g_to, to=g_from))
    rec = find(lines, is_("ReceiveRequestVoteRequest", g_from, **{"from": g_to}))
    behind = list(texts)
    for i in (req, rec):
        behind[i] = text(edited(lines[i][1], lambda e: e["msg"].update(index=e["msg"]["index"] - 1)))
    write("vote-up-to-date-candidate-behind.ndjson", "vote-up-to-date", behind, grant + 1)

    # A term going down: a node's event after it moved to the new term shows the old one.
    moved = find(lines, lambda e: e["nid"] != lid and e["state"]["term"] >= 2 and e["name"] == "Ready")
    down = list(texts)
    down[moved] = text(edited(lines[moved][1], lambda e: e["state"].update(term=e["state"]["term"] - 1)))
    write("term-monotonic-term-goes-down.ndjson", "term-monotonic", down, moved + 1)

    # Commit going down: a node's event after its commit rose shows it lower.
    rose = find(lines, lambda e: e["nid"] != lid and e["state"]["commit"] > 5)
    r = ev(lines[rose][1])
    later = find(lines, lambda e: e["nid"] == r["nid"], rose + 1)
    lower = list(texts)
    lower[later] = text(edited(lines[later][1], lambda e: e["state"].update(commit=r["state"]["commit"] - 1)))
    write("commit-monotonic-commit-goes-down.ndjson", "commit-monotonic", lower, later + 1)

    # A committed entry removed: the same node's event after its commit rose
    # shows a log ending below that commit.
    cut = list(texts)
    cut[later] = text(edited(lines[later][1], lambda e: e.update(log=r["state"]["commit"] - 1)))
    write("committed-kept-log-cut-below-commit.ndjson", "committed-kept", cut, later + 1)

    # A log compacted beyond the commit index: a CompactLog event (an extra
    # kind other harnesses write, with the extra state fields) is inserted
    # for that node, its snapshot point one past its commit index.
    def compact(e):
        e["name"] = "CompactLog"
        e["state"].update(snapshotIndex=e["state"]["commit"] + 1, snapshotTerm=2, applied=e["state"]["commit"])
        e["log"] = max(e["log"], e["state"]["commit"] + 1)
    compaction = edited(lines[rose][1], compact)
    write("applied-committed-compaction-beyond-commit.ndjson", "applied-committed",
          texts[: rose + 1] + [text(compaction)] + texts[rose + 1 :], rose + 2)

    # Commit beyond what a majority holds: the new leader, with only its own
    # log holding its first entry, shows it committed.
    ready = find(lines, is_("Ready", lid), leader + 1)
    beyond = list(texts)
    beyond[ready] = text(edited(lines[ready][1], lambda e: e["state"].update(commit=e["log"])))
    write("commit-quorum-beyond-majority.ndjson", "commit-quorum", beyond, ready + 1)

    # An entry of an earlier term committed by counting replicas (Figure 8):
    # the leader's bootstrap commit is lowered by one (its events and the
    # AppendEntries it sends), and where it commits its first entry of its
    # term once a majority holds it, it shows the bootstrap entry before it
    # (of term 1) committed instead.
    first = find(lines, lambda e: e["nid"] == lid and e["role"] == "StateLeader" and e["state"]["commit"] > 5)
    old_commit = ev(lines[first][1])["state"]["commit"] - 1
    told = []
    fig8 = list(texts)
    for i in range(first):
        e = ev(lines[i][1])
        m = e.get("msg")
        if m and m["from"] == lid and m["type"] == "MsgApp" and m["commit"] == old_commit and e["name"].startswith("Send"):
            told.append(dict(m))
    for i in range(len(lines)):
        e = ev(lines[i][1])
        mine = e["nid"] == lid and i < first and e["state"]["commit"] == old_commit
        carried = e.get("msg") in told
        if mine or carried:
            def lower(e, mine=mine, carried=carried):
                if mine:
                    e["state"]["commit"] = old_commit - 1
                if carried:
                    e["msg"]["commit"] = old_commit - 1
            fig8[i] = text(edited(lines[i][1], lower))
    fig8[first] = text(edited(lines[first][1], lambda e: e["state"].update(commit=old_commit)))
    write("commit-quorum-earlier-term-by-counting.ndjson", "commit-quorum", fig8, first + 1)

    # A message received that was never sent: the leader's first AppendEntries
    # to one follower is removed; the follower's receive of it is refused.
    send = find(lines, is_("SendAppendEntriesRequest", lid, type="MsgApp"))
    s = ev(lines[send][1])["msg"]
    recv = find(lines, lambda e: e["name"] == "ReceiveAppendEntriesRequest" and e["msg"] == s, send + 1)
    write("message-sent-never-sent.ndjson", "message-sent", texts[:send] + texts[send + 1 :], recv)

    # An AppendEntries accepted despite a mismatched previous entry: the
    # leader's first AppendEntries to a follower (sent and received alike)
    # names a previous term the follower's entry (a bootstrap entry, of
    # term 1) does not have; the follower still accepts it.
    app = find(lines, lambda e: e["name"] == "SendAppendEntriesRequest" and e["msg"]["type"] == "MsgApp"
               and e["msg"]["index"] > 0)
    a = ev(lines[app][1])["msg"]
    got = find(lines, lambda e: e["name"] == "ReceiveAppendEntriesRequest" and e["msg"] == a, app + 1)
    ack = find(lines, is_("SendAppendEntriesResponse", a["to"], to=a["from"]), got + 1)
    mismatch = list(texts)
    for i in (app, got):
        mismatch[i] = text(edited(lines[i][1], lambda e: e["msg"].update(logTerm=e["msg"]["logTerm"] + 1)))
    write("log-matching-previous-entry-mismatch.ndjson", "log-matching", mismatch, ack + 1)

    # A learner's vote counted: one voter's part in the election (the request
    # to it, its receive and grant, the candidate's receive of the grant) is
    # played by node 11, which is not a voter; the candidate still becomes leader.
    voter = g_from
    nv = "11"
    learner = list(texts)
    for i in range(leader):
        e = ev(lines[i][1])
        m = e.get("msg")
        if m and m["type"] in ("MsgVote", "MsgVoteResp") and voter in (m["from"], m["to"]):
            def swap(e):
                if e["nid"] == voter:
                    e["nid"] = nv
                for k in ("from", "to"):
                    if e["msg"][k] == voter:
                        e["msg"][k] = nv
            learner[i] = text(edited(lines[i][1], swap))
    write("election-quorum-learner-vote.ndjson", "election-quorum", learner, leader + 1)

    # A joint configuration counted with only the new majority: the candidate's
    # configuration is joint with an old one none of whose voters voted for it.
    cand = find(lines, is_("BecomeCandidate"))
    old = ["1", "6", "7", "8", "9"] if lid != "1" else ["2", "6", "7", "8", "9"]
    joint = list(texts)
    for i in range(cand, leader + 1):
        if ev(lines[i][1])["nid"] == lid:
            joint[i] = text(edited(lines[i][1], lambda e: e.update(conf=[e["conf"][0], old])))
    write("election-quorum-joint-new-majority-only.ndjson", "election-quorum", joint, leader + 1)

    ours(write)

    TABLE.write_text("file\trule\tline\n" + "".join(f"{f}\t{r}\t{l}\n" for f, r, l in rows))


def ours(write):
    """The negatives edited from our own runtime's traces."""
    lines = load(OURS / "ours-persist3-2c.ndjson")
    texts = [t for t, _ in lines]
    records = [r for _, r in lines]

    def at(pick, start=0):
        for i in range(start, len(records)):
            if records[i].get("tag") == "trace" and pick(ev(records[i])):
                return i
        raise SystemExit("ours-persist3-2c.ndjson is not the expected trace")

    # A committed entry overwritten. Node 2 leads term 3; node 1 has
    # committed entry 1 (of term 1). Edit: before its first new entry of
    # term 3, the leader shows its log cut to nothing (its own commit index
    # is 0 after its restart, so no committed entry of its own is lost),
    # then appends again: entries 1-3 are now of term 3. Its next
    # AppendEntries to node 1 carries all three (prev 0), and node 1 takes
    # them: its committed entry 1 of term 1 is overwritten by one of term 3.
    # The first broken rule is at node 1's answer.
    replicate = at(lambda e: e["name"] == "Replicate" and e["nid"] == "2" and e["state"]["term"] == 3)
    before = replicate - 1
    assert ev(records[before])["nid"] == "2" and ev(records[before])["state"]["commit"] == 0
    cut = list(texts)
    cut[before] = text(edited(records[before], lambda e: e.update(log=0)))
    send = at(is_("SendAppendEntriesRequest", "2", to="1"), replicate)
    recv = at(is_("ReceiveAppendEntriesRequest", "1", **{k: ev(records[send])["msg"][k] for k in ("from", "index", "entries")}), send)
    answer = at(is_("SendAppendEntriesResponse", "1", to="2"), recv)
    assert ev(records[recv])["state"]["commit"] >= 1 and ev(records[answer])["msg"]["index"] == ev(records[replicate])["log"]
    whole = {"index": 0, "logTerm": 0, "entries": ev(records[replicate])["log"]}
    for i in (send, recv):
        cut[i] = text(edited(records[i], lambda e: e["msg"].update(whole)))
    write("committed-kept-committed-entry-overwritten.ndjson", "committed-kept", cut[: answer + 1], answer + 1)

    # A restart below the persisted term: node 2, the leader of term 1,
    # saved term 1 (a Ready) before it crashed; it restarts at term 0. The
    # commit index may come back lower (this trace's config record says it
    # is volatile, as in the 6.824 Raft), the term may not.
    restart = at(lambda e: e["name"] == "InitState" and e["nid"] == "2" and e["state"]["term"] == 1)
    lower = list(texts)
    lower[restart] = text(edited(records[restart], lambda e: e["state"].update(term=0, vote="0")))
    write("term-monotonic-restart-below-saved-term.ndjson", "term-monotonic", lower[: restart + 1], restart + 1)


if __name__ == "__main__":
    main()
