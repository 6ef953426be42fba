#!/usr/bin/env python3
"""Derives the rule-by-rule invalid traces of the regression corpus.

Each invalid trace is a valid trace captured from the runtime's lab tests
(traces/corpus/traces/valid/) with one edit that breaks one rule of the
trace validator. The line the validator must name follows from the edit
alone, computed here without running the validator, and is written with
the rule to traces/corpus/expected-trace-failures.tsv, which the test suite
(tests/trace_cli.rs) checks against `raftcheck trace`.

    python3 scripts/make-invalid-traces.py

Rewrites traces/corpus/traces/invalid/check-*.ndjson, the valid
traces/corpus/traces/valid/derived-may-duplicate-heartbeat-twice.ndjson and
the rows of the table for them (rows of other files are kept).
"""

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "traces" / "corpus"
VALID = CORPUS / "traces" / "valid"
INVALID = CORPUS / "traces" / "invalid"
TABLE = CORPUS / "expected-trace-failures.tsv"


def read(name):
    """The header and the events of a valid trace, and its end record."""
    lines = [json.loads(line) for line in (VALID / name).read_text().splitlines() if line.strip()]
    assert lines[-1].get("event") == "end", f"{name} must be a version-2 trace with its end record"
    return lines[0], lines[1:-1]


def renumber(events):
    for k, event in enumerate(events):
        event["seq"] = k + 1


def write(name, header, events, end=True):
    """Writes the trace; returns nothing. Line 1 is the header, so the
    event at index i of `events` is on line i + 2."""
    lines = [header] + events
    if end:
        lines.append({"event": "end", "events": len(events)})
    (INVALID / name).write_text("".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines))


def sends(event):
    """(index of the output, to, message) of each send of a step."""
    return [(k, o["send"]["to"], o["send"]["message"]) for k, o in enumerate(event["outputs"]) if isinstance(o, dict) and "send" in o]


def delivery_of(events, start, sender, to, message):
    """The index of the first step at or after `start` in which `to` receives
    `message` from `sender`."""
    for i in range(start, len(events)):
        e = events[i]
        if e["event"] == "step" and e["node"] == to and isinstance(e["input"], dict):
            received = e["input"].get("receive")
            if received and received["from"] == sender and received["message"] == message:
                return i
    return None


def next_event_of(events, start, node):
    for i in range(start, len(events)):
        if events[i]["node"] == node:
            return i
    return None


def save_moved_after(events, save, later):
    """The events with the one at index `save` moved to just after the one
    at index `later`, renumbered."""
    moved = events[: save] + events[save + 1 : later + 1] + [events[save]] + events[later + 1 :]
    renumber(moved)
    return moved


def send_before_save():
    """A step that saves, then sends; its save event is moved after the
    message's delivery. The delivery is the first bad line."""
    header, events = read("persist3-2c.ndjson")
    for s, step in enumerate(events):
        if step["event"] != "step" or not step["outputs"] or step["outputs"][0] != "persist":
            continue
        node = step["node"]
        save = s + 1
        if events[save]["event"] != "persist" or events[save]["node"] != node:
            continue
        for _, to, message in sends(step):
            d = delivery_of(events, save + 1, node, to, message)
            if d is None:
                continue
            # The node must not act between its step and the delivery, or
            # that would be the first bad line (a step before saving).
            if next_event_of(events, save + 1, node) < d:
                continue
            # The delivery moves up one line: it was at index d.
            return header, save_moved_after(events, save, d), "durability", (d - 1) + 2
    sys.exit("no step that saves, sends, and whose message is delivered before the node acts again")


def vote_delivered_then_crash():
    """A voter grants its vote (save, then reply); it crashes before the
    save is written, and the reply is delivered after the crash: the bug
    "reply sent before the state is durable". The delivery is the first bad
    line; the crash is named beside it."""
    header, events = read("persist3-2c.ndjson")
    for s, step in enumerate(events):
        if step["event"] != "step" or not step["outputs"] or step["outputs"][0] != "persist":
            continue
        received = step["input"].get("receive") if isinstance(step["input"], dict) else None
        if not received or "request_vote" not in received["message"]:
            continue
        node = step["node"]
        save = s + 1
        if events[save]["event"] != "persist" or events[save]["node"] != node:
            continue
        for _, to, message in sends(step):
            if "request_vote_reply" not in message or not message["request_vote_reply"]["vote_granted"]:
                continue
            d = delivery_of(events, save + 1, node, to, message)
            if d is None or next_event_of(events, save + 1, node) < d:
                continue
            crash = {"event": "crash", "seq": 0, "node": node}
            events = events[:save] + [crash] + events[save + 1 :]
            renumber(events)
            # The save became the crash: the delivery stays on its line.
            return header, events, "durability", d + 2
    sys.exit("no granted vote whose reply is delivered before the voter acts again")


def applied_after_crash():
    """A crash inserted just before one of the node's applies."""
    header, events = read("persist3-2c.ndjson")
    a = next(i for i, e in enumerate(events) if e["event"] == "applied")
    crash = {"event": "crash", "seq": 0, "node": events[a]["node"]}
    events = events[:a] + [crash] + events[a:]
    renumber(events)
    return header, events, "durability", (a + 1) + 2


def apply_before_save():
    """A step that saves, then applies: its save event moved after the
    apply's (the node takes no step in between). The apply is the first
    bad line."""
    for name in ["persist3-2c.ndjson", "snapshot-rpc-3b.ndjson", "snapshot-init-2d.ndjson"]:
        header, events = read(name)
        for s, step in enumerate(events):
            outputs = step["outputs"] if step["event"] == "step" else []
            applies = [o for o in outputs if isinstance(o, dict) and "apply_command" in o]
            node = step["node"]
            save = s + 1
            if outputs[:1] != ["persist"] or not applies or events[save]["event"] != "persist":
                continue
            later = [i for i in range(save + 1, len(events)) if events[i]["node"] == node]
            a = next((i for i in later if events[i]["event"] == "applied"), None)
            if a is None or events[a]["output"] != applies[0]:
                continue
            if any(events[i]["event"] != "applied" for i in later if i < a):
                continue
            # The apply moves up one line: it was at index a.
            return header, save_moved_after(events, save, a), "durability", (a - 1) + 2
    sys.exit("no step that saves, then applies, whose apply comes before the node's next step")


def cut_mid_line():
    """The file ends in the middle of a line (a writer killed while writing):
    that line is named."""
    header, events = read("snapshot-init-2d.ndjson")
    events = events[:-20]
    name = "check-completeness-cut-mid-line.ndjson"
    write(name, header, events, end=False)
    text = (INVALID / name).read_text()
    (INVALID / name).write_text(text[: len(text) - 37])
    return None, None, "completeness", len(events) + 1


def duplicate_delivery():
    """A delivery whose step saves, repeated: the copy is a duplicate on a
    network that does not duplicate (not a step before saving)."""
    header, events = read("initial-election-2a.ndjson")
    d = next(
        i
        for i, e in enumerate(events)
        if e["event"] == "step" and isinstance(e["input"], dict) and "receive" in e["input"] and e["outputs"][:1] == ["persist"]
    )
    events = events[: d + 1] + [json.loads(json.dumps(events[d]))] + events[d + 1 :]
    renumber(events)
    return header, events, "duplicate", (d + 1) + 2


def cut_short():
    """The last 20 events and the end record gone: the end record's line is
    named."""
    header, events = read("snapshot-init-2d.ndjson")
    events = events[:-20]
    return header, events, "completeness", len(events) + 2, False


def header_only():
    header, _ = read("initial-election-2a.ndjson")
    return header, [], "completeness", 2, False


def wrong_end_count():
    header, events = read("initial-election-2a.ndjson")
    lines = [header] + events + [{"event": "end", "events": len(events) + 1}]
    return lines, "completeness", len(events) + 2


def skipped_number():
    header, events = read("initial-election-2a.ndjson")
    events[10]["seq"] += 1
    return header, events, "sequence", 10 + 2


def step_while_down():
    """A crash inserted before a node's step (not an apply, not a save)."""
    header, events = read("initial-election-2a.ndjson")
    s = next(i for i, e in enumerate(events) if i > 5 and e["event"] == "step")
    crash = {"event": "crash", "seq": 0, "node": events[s]["node"]}
    events = events[:s] + [crash] + events[s:]
    renumber(events)
    return header, events, "lifecycle", (s + 1) + 2


def never_sent():
    """A delivered AppendEntries whose commit index was changed."""
    header, events = read("initial-election-2a.ndjson")
    d = next(
        i
        for i, e in enumerate(events)
        if e["event"] == "step" and isinstance(e["input"], dict) and "append_entries" in e["input"].get("receive", {}).get("message", {})
    )
    events[d]["input"]["receive"]["message"]["append_entries"]["leader_commit"] = 99
    return header, events, "network", d + 2


def wrong_state():
    header, events = read("persist3-2c.ndjson")
    s = next(i for i, e in enumerate(events) if e["event"] == "step" and e["state"]["term"] == 1)
    events[s]["state"]["term"] = 2
    return header, events, "conformance", s + 2


def forgot_vote_on_restart():
    """A restart (after a crash) that reads no vote where one was saved."""
    header, events = read("persist3-2c.ndjson")
    r = next(i for i, e in enumerate(events) if e["event"] == "restart" and e["state"]["voted_for"] is not None)
    events[r]["state"]["voted_for"] = None
    return header, events, "persistence", r + 2


def apply_not_asked():
    header, events = read("persist3-2c.ndjson")
    a = next(i for i, e in enumerate(events) if e["event"] == "applied")
    events[a]["output"]["apply_command"]["index"] = 7
    return header, events, "apply", a + 2


def heartbeat_twice_on_a_duplicating_network():
    """A heartbeat that changes nothing, delivered twice, on a network whose
    header says it may duplicate: valid. (Without `may_duplicate` the same
    file is a duplicate delivery.)"""
    header, events = read("initial-election-2a.ndjson")
    previous_state = {}
    for d, e in enumerate(events):
        if e["event"] != "step":
            continue
        received = e["input"].get("receive") if isinstance(e["input"], dict) else None
        idle = (
            received
            and received["message"].get("append_entries", {}).get("entries") == []
            and "persist" not in e["outputs"]
            and previous_state.get(e["node"]) == e["state"]
        )
        previous_state[e["node"]] = e["state"]
        if idle:
            events = events[: d + 1] + [json.loads(json.dumps(events[d]))] + events[d + 1 :]
            renumber(events)
            return dict(header, may_duplicate=True), events, d + 1
    sys.exit("no heartbeat that changes nothing")


CASES = {
    "check-durability-send-before-save.ndjson": send_before_save,
    "check-durability-vote-delivered-then-crash.ndjson": vote_delivered_then_crash,
    "check-durability-applied-after-crash.ndjson": applied_after_crash,
    "check-durability-apply-before-save.ndjson": apply_before_save,
    "check-completeness-cut-mid-line.ndjson": cut_mid_line,
    "check-duplicate-delivery-on-a-network-that-does-not-duplicate.ndjson": duplicate_delivery,
    "check-completeness-cut-short.ndjson": cut_short,
    "check-completeness-header-only.ndjson": header_only,
    "check-completeness-end-record-miscounts.ndjson": wrong_end_count,
    "check-sequence-skipped-number.ndjson": skipped_number,
    "check-lifecycle-step-while-down.ndjson": step_while_down,
    "check-network-never-sent.ndjson": never_sent,
    "check-conformance-wrong-state.ndjson": wrong_state,
    "check-persistence-restart-forgets-vote.ndjson": forgot_vote_on_restart,
    "check-apply-not-asked.ndjson": apply_not_asked,
}


def main():
    # Rows by (file, mutant, mode): check, line. Rows of other files (the
    # replays of mutants, under exact replay and against the spec) are kept.
    rows = {}
    if TABLE.exists():
        for line in TABLE.read_text().splitlines()[1:]:
            if line.strip():
                file, check, number, mutant, mode = line.split("\t")
                rows[(file, mutant, mode)] = (check, number)
    for old in INVALID.glob("check-*.ndjson"):
        old.unlink()
    rows = {key: row for key, row in rows.items() if not key[0].startswith("traces/invalid/check-")}
    for name, make in CASES.items():
        made = make()
        if made[0] is None:
            # The case wrote its own file.
            _, _, check, line = made
        elif len(made) == 3:
            lines, check, line = made
            (INVALID / name).write_text("".join(json.dumps(l, separators=(",", ":")) + "\n" for l in lines))
        else:
            header, events, check, line, *end = made
            write(name, header, events, end=end[0] if end else True)
        rows[(f"traces/invalid/{name}", "", "exact")] = (check, str(line))
    header, events, copy = heartbeat_twice_on_a_duplicating_network()
    lines = [header] + events + [{"event": "end", "events": len(events)}]
    (VALID / "derived-may-duplicate-heartbeat-twice.ndjson").write_text(
        "".join(json.dumps(l, separators=(",", ":")) + "\n" for l in lines)
    )
    name = "check-duplicate-heartbeat-twice-without-may-duplicate.ndjson"
    write(name, dict(header, may_duplicate=False), events)
    rows[(f"traces/invalid/{name}", "", "exact")] = ("duplicate", str(copy + 2))
    out = ["file\tcheck\tline\tmutant\tmode"]
    out += [
        f"{file}\t{check}\t{line}\t{mutant}\t{mode}" for (file, mutant, mode), (check, line) in sorted(rows.items())
    ]
    TABLE.write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
