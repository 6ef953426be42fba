//! `raftcheck lin` end to end: exit codes, error messages naming file and
//! line, the readings of each format, `--json`, `--html`, limits.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

#[path = "support/shared_corpus.rs"]
mod shared_corpus;

/// Porcupine's corpus folder, or `None` (the test is skipped, saying so).
fn corpus(test: &str) -> Option<PathBuf> {
    shared_corpus::porcupine(&PathBuf::from(env!("CARGO_MANIFEST_DIR")), test)
}

/// A file of porcupine's corpus, by its path inside the corpus.
fn corpus_file(dir: &std::path::Path, rel: &str) -> String {
    dir.join(rel).display().to_string()
}

fn lin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_raftcheck")).arg("lin").args(args).output().expect("runs raftcheck")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Writes `text` to a file named `name` in a per-test folder under the
/// target directory.
fn file(test: &str, name: &str, text: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("lin-cli-{test}"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn malformed_input_names_file_and_line_and_exits_2() {
    let cases = [
        ("truncated", "{\"process\":0,\"type\":\"invoke\",\"f\":\"put\",\"key\":\"x\",\"value\":\"1\"}\n{\"process\":0,\"type\":\"ok\",\n", "line 2", "not valid JSON"),
        ("unmatched", "{\"process\":0,\"type\":\"ok\",\"f\":\"put\",\"key\":\"x\",\"value\":\"1\"}\n", "line 1", "no operation in flight"),
        ("unknown-f", "{\"process\":0,\"type\":\"invoke\",\"f\":\"frobnicate\",\"key\":\"x\"}\n", "line 1", "expected get, put or append"),
        ("busy", "{\"process\":0,\"type\":\"invoke\",\"f\":\"get\",\"key\":\"x\"}\n{\"process\":0,\"type\":\"invoke\",\"f\":\"get\",\"key\":\"y\"}\n", "line 2", "has not completed"),
        ("wrong-type", "{\"process\":0,\"type\":\"invoke\",\"f\":\"put\",\"key\":\"x\",\"value\":7}\n", "line 1", "to be a string, found 7"),
        ("garbage", "hello world\n", "", "cannot tell the format"),
        ("mixed-time", "{\"process\":0,\"type\":\"invoke\",\"f\":\"get\",\"key\":\"x\",\"time\":1}\n{\"process\":0,\"type\":\"ok\",\"f\":\"get\",\"key\":\"x\",\"value\":\"\"}\n", "line 2", "time"),
    ];
    for (name, text, line, what) in cases {
        let path = file("malformed", &format!("{name}.jsonl"), text);
        let out = lin(&["--model", "kv", &path]);
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{name}: {err}");
        assert!(err.contains(&path) && err.contains(line) && err.contains(what), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
    let out = lin(&["--model", "kv", "/no/such/file.jsonl"]);
    assert_eq!(code(&out), 2);
    let history = file("malformed", "fine.jsonl", "{\"process\":0,\"type\":\"invoke\",\"f\":\"get\",\"key\":\"x\"}\n");
    let out = lin(&["--model", "kv", "--timeout", "soon", &history]);
    assert_eq!(code(&out), 2, "a bad option value is a usage error");
}

fn verdict(test: &str, model: &str, extra: &[&str], text: &str) -> i32 {
    let path = file(test, &format!("h.{model}.jsonl"), text);
    let mut args = extra.to_vec();
    args.push(&path);
    let out = lin(&args);
    assert!(code(&out) != 2, "{test}: {}", stderr(&out));
    code(&out)
}

fn ev(p: u64, ty: &str, f: &str, value: &str, time: Option<u64>) -> String {
    let t = time.map_or(String::new(), |t| format!(",\"time\":{t}"));
    format!("{{\"process\":{p},\"type\":\"{ty}\",\"f\":\"{f}\",\"value\":{value}{t}}}\n")
}

#[test]
fn native_register_semantics() {
    // Closed intervals: a read returning at the instant a write starts may
    // precede it; one invoked strictly after the write returned may not.
    let overlapping = [
        ev(0, "invoke", "write", "1", Some(0)),
        ev(0, "ok", "write", "1", Some(10)),
        ev(1, "invoke", "read", "null", Some(10)),
        ev(1, "ok", "read", "null", Some(20)),
    ]
    .concat();
    assert_eq!(verdict("tie", "register", &[], &overlapping), 0);
    let after = overlapping.replace("\"read\",\"value\":null,\"time\":10", "\"read\",\"value\":null,\"time\":11");
    assert_ne!(after, overlapping);
    assert_eq!(verdict("tie", "register", &[], &after), 1);
    // A failed write did not happen; a crashed one may or may not have.
    let failed = [
        ev(0, "invoke", "write", "5", None),
        ev(0, "fail", "write", "5", None),
        ev(1, "invoke", "read", "null", None),
        ev(1, "ok", "read", "5", None),
    ]
    .concat();
    assert_eq!(verdict("fail", "register", &[], &failed), 1);
    let crashed = failed.replace("\"fail\"", "\"info\"");
    assert_eq!(verdict("info", "register", &[], &crashed), 0);
    let never =
        [ev(0, "invoke", "write", "5", None), ev(1, "invoke", "read", "null", None), ev(1, "ok", "read", "null", None)]
            .concat();
    assert_eq!(verdict("pending", "register", &[], &never), 0, "an unanswered invoke may never take effect");
    // --initial.
    let read0 = [ev(0, "invoke", "read", "null", None), ev(0, "ok", "read", "0", None)].concat();
    assert_eq!(verdict("initial", "register", &[], &read0), 1);
    assert_eq!(verdict("initial", "register", &["--initial", "0"], &read0), 0);
    // cas-register: a cas that completes ok succeeded.
    let cas = [
        ev(0, "invoke", "cas", "[null, 1]", None),
        ev(0, "ok", "cas", "[null, 1]", None),
        ev(0, "invoke", "read", "null", None),
        ev(0, "ok", "read", "1", None),
    ]
    .concat();
    assert_eq!(verdict("cas", "cas-register", &[], &cas), 0);
    let wrong = cas.replace("\"ok\",\"f\":\"read\",\"value\":1", "\"ok\",\"f\":\"read\",\"value\":2");
    assert_ne!(wrong, cas);
    assert_eq!(verdict("cas", "cas-register", &[], &wrong), 1);
}

#[test]
fn knossos_edn_reading() {
    let history = "[{:process 0, :type :invoke, :f :write, :value 1}\n\
                   {:process 0, :type :ok, :f :write, :value 1}\n\
                   {:process :nemesis, :type :info, :f :start, :value nil}\n\
                   {:process 1, :type :invoke, :f :cas, :value [3 4]}\n\
                   {:process 1, :type :fail, :f :cas, :value [3 4]}\n\
                   {:process 2, :type :invoke, :f :read, :value nil}\n\
                   {:process 2, :type :ok, :f :read, :value nil}\n\
                   {:process 2, :type :invoke, :f :read, :value nil}\n\
                   {:process 2, :type :ok, :f :read, :value 1}]\n";
    let path = file("edn", "h.edn", history);
    let out = lin(&["--model", "cas-register", "--json", &path]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["files"][0]["format"], "edn");
    assert_eq!(json["files"][0]["skipped_entries"], 1, "the nemesis entry is skipped and counted");
    assert_eq!(json["files"][0]["failed_ops_left_out"], 1);
    let bad = history.replace(":value 1}]", ":value 3}]");
    let path = file("edn", "bad.edn", &bad);
    assert_eq!(code(&lin(&["--model", "cas-register", &path])), 1);
}

#[test]
fn every_edn_history_form_is_read_by_auto_and_edn() {
    let ops = [
        "{:process 0, :type :invoke, :f :write, :value 1}",
        "{:process 0, :type :ok, :f :write, :value 1}",
        "{:process :nemesis, :type :info, :f :start, :value nil}",
        "{:process 1, :type :invoke, :f :read, :value nil}",
        "{:process 1, :type :ok, :f :read, :value 1}",
    ];
    let forms = [
        ("vector", format!("[{}]\n", ops.join("\n "))),
        ("list", format!("({})\n", ops.join("\n "))),
        ("list-commented", format!("; Knossos history\n(\n{}\n)\n", ops.join("\n ; between operations\n "))),
        ("lines", ops.join("\n")),
        ("lines-commented", format!(";; jepsen history.edn\n{}\n; end\n", ops.join("\n;\n"))),
    ];
    for (name, text) in &forms {
        for format in ["auto", "edn"] {
            let path = file("edn-forms", &format!("{name}.edn"), text);
            let out = lin(&["--model", "register", "--format", format, "--json", &path]);
            assert_eq!(code(&out), 0, "{name} --format {format}: {}", stderr(&out));
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(json["files"][0]["format"], "edn", "{name}");
            assert_eq!(json["files"][0]["ops"], 2, "{name}");
            assert_eq!(json["files"][0]["skipped_entries"], 1, "{name}");
            // The same history with a read of a value never written is refuted.
            let bad = text.replace(":ok, :f :read, :value 1", ":ok, :f :read, :value 2");
            assert_ne!(&bad, text);
            let path = file("edn-forms", &format!("{name}-bad.edn"), &bad);
            assert_eq!(code(&lin(&["--model", "register", "--format", format, &path])), 1, "{name}");
        }
    }
    // The form the issue quoted: a list whose maps start with :type.
    let knossos = "({:type :invoke, :f :write, :value 3, :process 0, :time 10}\n \
                   {:type :ok, :f :write, :value 3, :process 0, :time 20}\n \
                   {:type :invoke, :f :read, :value nil, :process 1, :time 30}\n \
                   {:type :ok, :f :read, :value 3, :process 1, :time 40})\n";
    let path = file("edn-forms", "type-first.edn", knossos);
    let out = lin(&["--model", "register", "--json", &path]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let path =
        file("edn-forms", "type-first-bad.edn", &knossos.replace(":value 3, :process 1", ":value 4, :process 1"));
    assert_eq!(code(&lin(&["--model", "register", &path])), 1);
    let path = file("edn-forms", "unclosed.edn", &format!("({}\n", ops.join("\n")));
    let out = lin(&["--model", "register", &path]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("line 6") && stderr(&out).contains("expected ')'"), "{}", stderr(&out));
}

#[test]
fn several_files_worst_verdict_wins_and_json_reports_each() {
    let Some(dir) = corpus("several_files_worst_verdict_wins_and_json_reports_each") else { return };
    let (ok, bad) = (corpus_file(&dir, "kv/c01-ok.txt"), corpus_file(&dir, "kv/c01-bad.txt"));
    assert_eq!(code(&lin(&["--model", "kv", &ok, &ok])), 0);
    let out = lin(&["--model", "kv", "--json", &ok, &bad]);
    assert_eq!(code(&out), 1);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(json["verdict"], "not-linearizable");
    assert_eq!(json["files"][0]["verdict"], "linearizable");
    assert_eq!(json["files"][1]["verdict"], "not-linearizable");
    assert!(json["files"][1]["explanation"]["prefix_length"].is_u64());
    assert!(json["files"][0]["check_ms"].is_number() && json["files"][0]["parse_ms"].is_number());
    let garbage = file("several", "g.jsonl", "nope\n");
    assert_eq!(code(&lin(&["--model", "kv", &ok, &bad, &garbage])), 2);
}

#[test]
fn limits_end_with_unknown() {
    // c50-bad searched whole takes seconds and tens of MB.
    let Some(dir) = corpus("limits_end_with_unknown") else { return };
    let c50 = corpus_file(&dir, "kv/c50-bad.txt");
    let started = Instant::now();
    let out = lin(&["--model", "kv", "--no-partition", "--timeout", "300ms", "--json", &c50]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(30), "the timeout was not honoured");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["files"][0]["unknown_reason"], "timeout");
    assert!(json["files"][0]["partial_explanation"]["prefix_length"].is_u64(), "what was established is reported");
    let out = lin(&["--model", "kv", "--no-partition", "--memory-budget", "8M", "--json", &c50]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["files"][0]["unknown_reason"], "memory budget");
}

#[test]
fn the_timeout_covers_reading_and_progress_shows_on_long_checks() {
    // 50,000 operations take far more than a millisecond to read.
    let mut text = String::new();
    for i in 0..50_000u64 {
        text.push_str(&ev(i % 8, "invoke", "write", &i.to_string(), None));
        text.push_str(&ev(i % 8, "ok", "write", &i.to_string(), None));
    }
    let path = file("timeout", "long.register.jsonl", &text);
    let out = lin(&["--timeout", "1ms", "--json", &path]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["files"][0]["unknown_reason"], "timeout");
    let out = lin(&["--timeout", "1ms", &path]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("timeout reached while reading the file"));
    // A check that runs for seconds reports its progress on stderr, once a
    // second, from one thread for the whole run.
    let Some(dir) = corpus("the_timeout_covers_reading_and_progress_shows_on_long_checks") else { return };
    let c50 = corpus_file(&dir, "kv/c50-bad.txt");
    let out = lin(&["--model", "kv", "--no-partition", "--timeout", "2.5s", "--memory-budget", "1G", &c50, &c50]);
    assert_ne!(code(&out), 2, "{}", stderr(&out));
    let progress = stderr(&out).lines().filter(|l| l.contains("partition(s) done")).count();
    assert!(progress >= 2, "expected progress lines: {}", stderr(&out));
}

#[test]
fn html_report_for_c50_bad_and_a_large_history() {
    let Some(corpus_dir) = corpus("html_report_for_c50_bad_and_a_large_history") else { return };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lin-cli-html");
    std::fs::create_dir_all(&dir).unwrap();
    let report = dir.join("c50-bad.html");
    let c50 = corpus_file(&corpus_dir, "kv/c50-bad.txt");
    let out = lin(&["--model", "kv", "--html", report.to_str().unwrap(), &c50]);
    assert_eq!(code(&out), 1);
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<svg") && html.contains("id=\"first-error\""));
    assert!(html.contains("longest linearizable prefix"));
    assert!(!html.contains("https://") && !html.contains("<script src") && !html.contains("<link"), "self-contained");
    // 3,000 operations on 30 processes: a bounded file.
    let mut text = String::new();
    for i in 0..3000u64 {
        let p = i % 30;
        text.push_str(&ev(p, "invoke", "write", &i.to_string(), None));
        text.push_str(&ev(p, "ok", "write", &i.to_string(), None));
    }
    let big = file("html", "big.register.jsonl", &text);
    let report = dir.join("big.html");
    let out = lin(&["--html", report.to_str().unwrap(), &big]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let size = std::fs::metadata(&report).unwrap().len();
    assert!(size < 4 << 20, "report of {size} bytes");
    assert_eq!(std::fs::read_to_string(&report).unwrap().matches("<g class=\"op").count(), 3000);
}

#[test]
fn jepsen_log_reading_differs_from_knossos_on_failed_cas() {
    // After write 1, a cas [1 2] that failed observed a value other than 1:
    // impossible in porcupine's reading of the etcd logs; in knossos's
    // reading the failed cas simply did not happen.
    let log = "INFO  jepsen.util - 0\t:invoke\t:write\t1\n\
               INFO  jepsen.util - 0\t:ok\t:write\t1\n\
               INFO  jepsen.util - 1\t:invoke\t:cas\t[1 2]\n\
               INFO  jepsen.util - 1\t:fail\t:cas\t[1 2]\n\
               INFO  jepsen.util - 2\t:invoke\t:read\tnil\n\
               INFO  jepsen.util - 2\t:fail\t:read\t:timed-out\n";
    let path = file("jepsen", "failed-cas.log", log);
    let out = lin(&["--model", "cas-register", &path]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let edn = "{:process 0, :type :invoke, :f :write, :value 1}\n\
               {:process 0, :type :ok, :f :write, :value 1}\n\
               {:process 1, :type :invoke, :f :cas, :value [1 2]}\n\
               {:process 1, :type :fail, :f :cas, :value [1 2]}\n";
    let path = file("jepsen", "failed-cas.edn", edn);
    assert_eq!(code(&lin(&["--model", "cas-register", &path])), 0);
    // A timed-out read completes with any value; a crashed write may or
    // may not have happened.
    let log = "INFO  jepsen.util - 0\t:invoke\t:write\t1\n\
               INFO  jepsen.util - 0\t:info\t:write\t:timed-out\n\
               INFO  jepsen.util - 2\t:invoke\t:read\tnil\n\
               INFO  jepsen.util - 2\t:fail\t:read\t:timed-out\n\
               INFO  jepsen.util - 3\t:invoke\t:read\tnil\n\
               INFO  jepsen.util - 3\t:ok\t:read\tnil\n\
               INFO  jepsen.util - 3\t:invoke\t:read\tnil\n\
               INFO  jepsen.util - 3\t:ok\t:read\t1\n";
    let path = file("jepsen", "crashed.log", log);
    assert_eq!(code(&lin(&["--model", "cas-register", &path])), 0);
    let bad = log.replace("3\t:ok\t:read\t1", "3\t:ok\t:read\t2");
    let path = file("jepsen", "crashed-bad.log", &bad);
    assert_eq!(code(&lin(&["--model", "cas-register", &path])), 1);
}
