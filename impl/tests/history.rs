//! The KV tests' history recorder: intervals that contain the operation,
//! operations whose outcome was never learned kept as `info`, and the JSON
//! Lines it writes read back by the checker with the same verdict.

mod common;

use common::history::{CheckHistory, History, KvCall};
use raftcheck_checker::formats::{self, Format, Reading};
use raftcheck_checker::models::decode_kv;
use raftcheck_checker::{check, CheckOptions, Verdict};
use std::time::Duration;

#[test]
fn an_open_operation_is_recorded_as_info_and_may_take_effect() {
    let history = History::default();
    let put = history.invoke(1, KvCall::Put("k".into(), "a".into()));
    history.complete(put, None);
    // Client 2's append never returns: its clerk never learned the outcome.
    history.invoke(2, KvCall::Append("k".into(), "b".into()));
    let get = history.invoke(3, KvCall::Get("k".into()));
    history.complete(get, Some("ab".into()));

    let (_, operations) = history.operations();
    assert_eq!(operations.len(), 3, "nothing is dropped");
    assert!(operations[1].ret.is_none() && operations[1].output.is_none(), "the open append is pending");
    assert!(operations.iter().all(|op| op.ret.is_none_or(|ret| ret >= op.call)));

    let jsonl = history.to_jsonl();
    let info: Vec<&str> = jsonl.lines().filter(|l| l.contains("\"type\":\"info\"")).collect();
    assert_eq!(info.len(), 1, "{jsonl}");
    assert!(info[0].contains("\"process\":2") && info[0].contains("\"append\""), "{jsonl}");

    // The get saw the append: linearizable only because an info operation
    // may take effect.
    let checked = history.check("open-append", Duration::from_secs(5), false);
    assert_eq!(checked.verdict, Verdict::Linearizable);
    // The same history read back from its JSON Lines: the same operations,
    // one of them open, and the same verdict.
    let records = formats::parse(&jsonl, Format::Jsonl).expect("our JSON Lines parse");
    let decoded = decode_kv(records, Reading::Native).expect("and decode");
    assert_eq!((decoded.history.len(), decoded.open), (3, 1));
    let report = check(&decoded.model, &decoded.history, &CheckOptions::default(), None);
    assert_eq!(report.verdict, Verdict::Linearizable);
}

#[test]
fn a_get_that_misses_a_completed_put_is_refuted() {
    let history = History::default();
    let put = history.invoke(1, KvCall::Put("k".into(), "a".into()));
    history.complete(put, None);
    let get = history.invoke(2, KvCall::Get("k".into()));
    history.complete(get, Some(String::new()));
    let checked = history.check("stale-get", Duration::from_secs(5), false);
    assert_eq!(checked.verdict, Verdict::NotLinearizable);
}
