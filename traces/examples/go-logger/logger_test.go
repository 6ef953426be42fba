package raft

import (
	"os"
	"testing"
)

// A hand-driven run of three nodes through the logger's call points: node 0
// is elected in term 1 with node 1's vote, replicates one entry to node 1
// and commits it. With twoLeaders, node 2 also declares itself leader of
// term 1 on its own vote.
func run(t *testing.T, path string, twoLeaders bool) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString(`{"tag":"config","durableCommit":false}` + "\n")
	traceOut = f
	defer func() { traceOut = nil }()
	rf := make([]*Raft, 3)
	for i := range rf {
		rf[i] = &Raft{me: i, peers: []int{0, 1, 2}, votedFor: -1, log: []Entry{{0}}}
		traceEvent("InitState", rf[i], nil)
	}
	a, b := rf[0], rf[1]
	a.currentTerm, a.votedFor, a.state = 1, 0, Candidate
	traceEvent("BecomeCandidate", a, nil)
	traceEvent("Ready", a, nil)
	args := RequestVoteArgs{Term: 1, CandidateId: 0}
	traceEvent("SendRequestVoteRequest", a, voteMsg(&args, 1))
	traceEvent("ReceiveRequestVoteRequest", b, voteMsg(&args, 1))
	b.currentTerm, b.votedFor = 1, -1
	traceEvent("BecomeFollower", b, nil)
	b.votedFor = 0
	traceEvent("Ready", b, nil)
	reply := RequestVoteReply{Term: 1, VoteGranted: true}
	traceEvent("SendRequestVoteResponse", b, voteResp(&reply, 1, 0))
	traceEvent("ReceiveRequestVoteResponse", a, voteResp(&reply, 1, 0))
	a.state = Leader
	traceEvent("BecomeLeader", a, nil)
	if twoLeaders {
		c := rf[2]
		c.currentTerm, c.votedFor, c.state = 1, 2, Candidate
		traceEvent("BecomeCandidate", c, nil)
		c.state = Leader
		traceEvent("BecomeLeader", c, nil)
	}
	a.log = append(a.log, Entry{1})
	traceEvent("Ready", a, nil)
	app := AppendEntriesArgs{Term: 1, LeaderId: 0, Entries: []Entry{{1}}}
	traceEvent("SendAppendEntriesRequest", a, appMsg(&app, 1))
	traceEvent("ReceiveAppendEntriesRequest", b, appMsg(&app, 1))
	b.log = append(b.log, Entry{1})
	traceEvent("Ready", b, nil)
	ok := AppendEntriesReply{Term: 1, Success: true}
	traceEvent("SendAppendEntriesResponse", b, appResp(&app, &ok, 1))
	traceEvent("ReceiveAppendEntriesResponse", a, appResp(&app, &ok, 1))
	a.commitIndex = 1
	traceEvent("Commit", a, nil)
}

func TestValid(t *testing.T)      { run(t, "valid.ndjson", false) }
func TestTwoLeaders(t *testing.T) { run(t, "two-leaders.ndjson", true) }
