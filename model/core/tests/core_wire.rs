//! Every RPC message and the persistent state survive a serde round trip:
//! the runtime puts them on a wire and on disk as bytes.

use raftcheck_core::{
    AppendEntries, AppendEntriesReply, Entry, InstallSnapshot, InstallSnapshotReply, Log, Message, PersistentState,
    RequestVote, RequestVoteReply,
};

type Msg = Message<String, Vec<u8>>;

fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
    let text = serde_json::to_string(value).expect("serialises");
    let back: T = serde_json::from_str(&text).expect("deserialises");
    assert_eq!(&back, value, "round trip through {text}");
}

#[test]
fn every_message_kind_round_trips() {
    let entries = vec![Entry { term: 2, command: "put x 1".to_string() }, Entry { term: 3, command: String::new() }];
    let messages: Vec<Msg> = vec![
        Message::RequestVote(RequestVote { term: 4, last_log_index: 7, last_log_term: 3 }),
        Message::RequestVoteReply(RequestVoteReply { term: 4, vote_granted: true }),
        Message::AppendEntries(AppendEntries {
            term: 3,
            prev_log_index: 5,
            prev_log_term: 2,
            entries,
            leader_commit: 5,
        }),
        Message::AppendEntriesReply(AppendEntriesReply {
            term: 3,
            success: false,
            match_index: 0,
            conflict_term: Some(2),
            conflict_index: 4,
        }),
        Message::InstallSnapshot(InstallSnapshot {
            term: 5,
            last_included_index: 9,
            last_included_term: 4,
            data: vec![0, 255, 7],
        }),
        Message::InstallSnapshotReply(InstallSnapshotReply { term: 5, last_included_index: 9, accepted: true }),
    ];
    for m in &messages {
        round_trip(m);
    }
}

#[test]
fn persistent_state_round_trips_with_its_snapshot_offset() {
    let mut log: Log<String> = Log::new();
    for k in 1..=5u64 {
        log.append(Entry { term: k / 2 + 1, command: format!("c{k}") });
    }
    log.compact_through(3);
    let state = PersistentState { term: 7, voted_for: Some(2), log, snapshot: Some(vec![1u8, 2, 3]) };
    round_trip(&state);
}
