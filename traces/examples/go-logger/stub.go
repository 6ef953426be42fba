// The fields of a 6.824-style Raft that the README's trace logger reads,
// just enough for the logger to compile and for logger_test.go to drive it.
package raft

const (
	Follower = iota
	Candidate
	Leader
)

type Entry struct{ Term int }

type Raft struct {
	me          int
	peers       []int
	state       int
	currentTerm int
	votedFor    int
	commitIndex int
	log         []Entry
}

type RequestVoteArgs struct{ Term, CandidateId, LastLogIndex, LastLogTerm int }
type RequestVoteReply struct {
	Term        int
	VoteGranted bool
}
type AppendEntriesArgs struct {
	Term, LeaderId, PrevLogIndex, PrevLogTerm int
	Entries                                   []Entry
	LeaderCommit                              int
}
type AppendEntriesReply struct {
	Term    int
	Success bool
}
