//! A closed or full stdout, as users meet them: `twotrack audit | head`, `twotrack history KEY > /dev/full`.
//! The reader going away ends a command quietly with exit 0; a full disk is an error (exit 1) that says
//! so. Never a panic, and never an error that blames something else.

use crate::apply_support;

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use apply_support::*;

#[derive(Debug, Clone, Copy)]
enum Sink {
    /// A pipe whose reader has already gone: every write fails with a broken pipe.
    Closed,
    /// `/dev/full`: every write fails with "no space left on device".
    Full,
}

fn run(h: &Harness, args: &[&str], stdin: &str, sink: Sink) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_twotrack"));
    cmd.arg("--config").arg(&h.config).args(args).current_dir(h.dir.path());
    cmd.env_remove("TWOTRACK_FAILPOINT").env_remove("TWOTRACK_CONFIG").env("NO_COLOR", "1");
    match sink {
        Sink::Closed => {
            let (reader, writer) = std::io::pipe().unwrap();
            drop(reader);
            cmd.stdout(writer);
        }
        Sink::Full => {
            cmd.stdout(std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full (Linux)"));
        }
    }
    cmd.stdin(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    // The command may stop reading early; a refused write here is no failure of the test.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    child.wait_with_output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_stdout_ends_quietly_and_a_full_one_is_an_error() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    h.ok(&["sync"]).await;
    let key = h.jira_key(WORK_IN_JIRA);
    let verdicts = r#"{"id": "A-1", "tracker": "jira", "summary": "Please reset my password, I am locked out"}"#;
    let commands: Vec<(Vec<&str>, &str)> = vec![
        (vec!["audit"], ""),
        (vec!["audit", "--format", "json"], ""),
        (vec!["audit", "--format", "csv"], ""),
        (vec!["apply"], ""),
        (vec!["history", &key], ""),
        (vec!["explain", &key], ""),
        (vec!["mirror", "stats"], ""),
        (vec!["mirror", "export"], ""),
        (vec!["config", "show"], ""),
        (vec!["classify"], verdicts),
        (vec!["completions", "bash"], ""),
        (vec!["sync"], ""),
    ];
    // Each command writes to a stdout that works, to start with.
    for (args, stdin) in &commands {
        let run = h.run(args).await;
        assert_eq!(run.code(), Some(0), "twotrack {args:?} should succeed\n{}", run.stderr);
        assert!(!run.stdout.is_empty() || !stdin.is_empty(), "twotrack {args:?} wrote nothing to stdout");
    }
    for (args, stdin) in &commands {
        let closed = run(&h, args, stdin, Sink::Closed);
        let stderr = String::from_utf8_lossy(&closed.stderr);
        assert_eq!(closed.status.code(), Some(0), "twotrack {args:?} | (closed): exit 0\n{stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("error"), "twotrack {args:?} | (closed)\n{stderr}");

        let full = run(&h, args, stdin, Sink::Full);
        let stderr = String::from_utf8_lossy(&full.stderr);
        assert_eq!(full.status.code(), Some(1), "twotrack {args:?} > /dev/full: exit 1\n{stderr}");
        assert!(!stderr.contains("panicked"), "twotrack {args:?} > /dev/full\n{stderr}");
        assert!(
            stderr.contains("error: cannot write to standard output: No space left on device"),
            "twotrack {args:?} > /dev/full says what failed\n{stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_stderr_loses_the_messages_not_the_work() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    h.ok(&["sync"]).await;
    let out = h.dir.path().join("out");
    let (export, report) = (out.with_extension("jsonl"), out.with_extension("md"));
    let verdicts = r#"{"id": "A-1", "tracker": "jira", "summary": "Please reset my password, I am locked out"}"#;
    let commands: Vec<(Vec<&str>, &str)> = vec![
        (vec!["mirror", "export", "--out", export.to_str().unwrap()], ""),
        (vec!["audit", "--out", report.to_str().unwrap()], ""),
        (vec!["classify"], verdicts),
    ];
    for (args, stdin) in &commands {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_twotrack"));
        cmd.arg("--config").arg(&h.config).args(args).current_dir(h.dir.path());
        cmd.env_remove("TWOTRACK_FAILPOINT").env_remove("TWOTRACK_CONFIG").env("NO_COLOR", "1");
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        cmd.stderr(writer).stdout(Stdio::piped()).stdin(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        let _ = input.write_all(stdin.as_bytes());
        drop(input);
        let done = child.wait_with_output().unwrap();
        assert_eq!(done.status.code(), Some(0), "twotrack {args:?} 2>(closed): the work is done, exit 0");
    }
    assert!(std::fs::read_to_string(&export).unwrap().lines().count() >= 4, "the export was written");
    assert!(std::fs::read_to_string(&report).unwrap().starts_with("# twotrack audit"), "the report was written");
}
