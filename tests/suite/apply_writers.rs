//! One writer per tracker pair, judged by the simulators: two instances (two mirrors, the same trackers)
//! applying at once make no duplicate twin and the second refuses naming the holder's host; a fresh
//! heartbeat of another instance refuses until `--take-over`; a stale one is taken over; a clean exit
//! releases the lease so that another instance may write at once; two daemons are a failover pair.

use crate::apply_support;

use std::path::PathBuf;

use apply_support::daemon::{Daemon, eventually};
use apply_support::metrics::metric;
use apply_support::*;
use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};

/// The exit code of "another instance holds the writer lease".
const HELD: i32 = 5;

/// A second instance: its own directory, configuration (the same trackers) and mirror.
struct Second {
    dir: PathBuf,
}

impl Second {
    fn beside(h: &Harness) -> Second {
        let dir = h.dir.path().join("second");
        std::fs::create_dir_all(dir.join("secrets")).unwrap();
        std::fs::copy(&h.config, dir.join("twotrack.toml")).unwrap();
        let token = h.dir.path().join("secrets").join("sim-token");
        std::fs::copy(&token, dir.join("secrets").join("sim-token")).unwrap();
        Second { dir }
    }

    async fn run(&self, args: &[&str]) -> Run {
        run_in(&self.dir, &self.dir.join("twotrack.toml"), args, &[]).await
    }
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// The lease's name, as every instance configured against these simulators computes it.
fn lease(h: &Harness) -> String {
    twotrack::writer::lease_name(&twotrack::config::load(&h.config).unwrap())
}

/// The heartbeat in each tracker, read over plain HTTP: (Jira's project property, ServiceNow's row value).
async fn beats(h: &Harness) -> (Option<Value>, Option<Value>) {
    let name = lease(h);
    let (user, token) = h.world.basic();
    let http = reqwest::Client::new();
    let url = format!("{}/rest/api/3/project/SHOP/properties/{name}", h.world.jira.base_url());
    let jira = http.get(&url).basic_auth(&user, Some(&token)).send().await.unwrap();
    let jira = match jira.status().as_u16() {
        404 => None,
        200 => Some(jira.json::<Value>().await.unwrap()["value"].clone()),
        other => panic!("{url}: HTTP {other}"),
    };
    let url = format!(
        "{}/api/now/table/sys_properties?sysparm_query=name={name}^ORDERBYsys_created_on",
        h.world.servicenow.base_url()
    );
    let rows: Value = http.get(&url).basic_auth(&user, Some(&token)).send().await.unwrap().json().await.unwrap();
    let sn = rows["result"]
        .as_array()
        .and_then(|rows| rows.first())
        .and_then(|row| row["value"].as_str())
        .filter(|v| !v.is_empty())
        .map(|v| serde_json::from_str(v).unwrap());
    (jira, sn)
}

/// Put `beat` in both trackers as another instance would.
async fn plant(h: &Harness, beat: &Value) {
    let name = lease(h);
    let (user, token) = h.world.basic();
    let http = reqwest::Client::new();
    let url = format!("{}/rest/api/3/project/SHOP/properties/{name}", h.world.jira.base_url());
    let put = http.put(&url).basic_auth(&user, Some(&token)).json(beat).send().await.unwrap();
    assert!(put.status().is_success(), "{url}: {}", put.status());
    let url = format!("{}/api/now/table/sys_properties", h.world.servicenow.base_url());
    let row = json!({ "name": name, "value": beat.to_string(), "type": "string" });
    let post = http.post(&url).basic_auth(&user, Some(&token)).json(&row).send().await.unwrap();
    assert!(post.status().is_success(), "{url}: {}", post.status());
}

/// Another instance's heartbeat, last renewed `age` ago, with a TTL of 120 s.
fn other_instance(age: TimeDelta) -> Value {
    let beat = Utc::now() - age;
    json!({
        "instance": "0123456789abcdef",
        "host": "standby.example",
        "pid": 4242,
        "started": (beat - TimeDelta::hours(1)).to_rfc3339(),
        "claimed": (beat - TimeDelta::hours(1)).to_rfc3339(),
        "beat": beat.to_rfc3339(),
        "ttl_seconds": 120,
    })
}

/// Twins made for the backlog's two misfiled items, per source (each must be at most one).
fn twins(h: &Harness) -> Vec<usize> {
    let (jira_source, sn_source) = sources(h);
    vec![h.sn_twins(&jira_source).len(), h.jira_twins(&sn_source).len()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_applying_at_once_make_no_duplicate_twins_and_the_second_refuses() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    let second = Second::beside(&h);
    h.ok(&["sync"]).await;
    let synced = second.run(&["sync"]).await;
    assert_eq!(synced.code(), Some(0), "{}", synced.stderr);

    let (first, other) = tokio::join!(h.run(&["apply", "--yes"]), second.run(&["apply", "--yes"]));
    let codes = [first.code(), other.code()];
    println!("two instances applying at once: exit codes {codes:?}, twins per source {:?}", twins(&h));
    assert!(
        codes.contains(&Some(0)) && codes.contains(&Some(HELD)),
        "one writes, the other refuses: {codes:?}\n--- first\n{}\n--- second\n{}",
        first.stderr,
        other.stderr
    );
    let refused = if first.code() == Some(HELD) { &first } else { &other };
    assert!(refused.stderr.contains("holds the writer lease"), "{}", refused.stderr);
    assert!(refused.stderr.contains(&format!("on host {}", host())), "names the holder's host: {}", refused.stderr);
    assert!(refused.stderr.contains("--take-over"), "says what to do: {}", refused.stderr);
    assert_eq!(twins(&h), [1, 1], "each misfiled item got exactly one twin");
    assert_eq!(h.jira_creates() + h.sn_creates(), 2, "two creates in all");

    // The refused instance, run again once the writer has exited (its lease released), finds the moves
    // done by the other and duplicates nothing.
    let again = if first.code() == Some(HELD) {
        h.run(&["apply", "--yes", "--sync"]).await
    } else {
        second.run(&["apply", "--yes", "--sync"]).await
    };
    assert_eq!(again.code(), Some(0), "{}\n{}", again.stdout, again.stderr);
    assert_eq!(twins(&h), [1, 1], "no duplicate after the other instance's run either");
}

/// Whether the simulator's log shows a heartbeat written and then read back (a claim's read-back).
fn read_back(log: &[twotrack_sim::log::LogEntry]) -> bool {
    let lease: Vec<_> = log.iter().filter(|e| is_writer_lease(&e.path)).collect();
    let wrote = lease.iter().position(|e| e.is_write());
    wrote.is_some_and(|w| lease[w..].iter().any(|e| e.method == "GET"))
}

/// Two claims that start together can each be read back showing only the later one, whose writes landed
/// last: the later claimant saw nothing else, and the earlier one writes its claim again. Here the
/// earlier claim is planted right after this instance's read-back showed its own claim everywhere: the
/// instance looks once more before writing, sees the earlier claim, and refuses, having written nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_earlier_claim_landing_after_the_read_back_wins_and_nothing_is_written() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    h.ok(&["sync"]).await;
    let name = lease(&h);
    let apply = tokio::spawn({
        let (dir, config) = (h.dir.path().to_path_buf(), h.config.clone());
        async move { run_in(&dir, &config, &["apply", "--yes"], &[]).await }
    });
    eventually("the claim read back in both trackers", async || {
        (read_back(&h.world.jira.log().entries()) && read_back(&h.world.servicenow.log().entries())).then_some(())
    })
    .await;
    // The earlier claimant's rewrite, over this instance's heartbeat in both trackers.
    let earlier = other_instance(TimeDelta::zero());
    let (user, token) = h.world.basic();
    let http = reqwest::Client::new();
    let url = format!("{}/rest/api/3/project/SHOP/properties/{name}", h.world.jira.base_url());
    let put = http.put(&url).basic_auth(&user, Some(&token)).json(&earlier).send().await.unwrap();
    assert!(put.status().is_success(), "{url}: {}", put.status());
    let rows = format!("{}/api/now/table/sys_properties", h.world.servicenow.base_url());
    let found: Value = http
        .get(&rows)
        .query(&[("sysparm_query", format!("name={name}"))])
        .basic_auth(&user, Some(&token))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sys_id = found["result"][0]["sys_id"].as_str().expect("the claim's row").to_string();
    let patch = http
        .patch(format!("{rows}/{sys_id}"))
        .basic_auth(&user, Some(&token))
        .json(&json!({ "value": earlier.to_string() }))
        .send()
        .await
        .unwrap();
    assert!(patch.status().is_success(), "{}", patch.status());

    let run = apply.await.unwrap();
    assert_eq!(run.code(), Some(HELD), "the earlier claim wins\n{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("standby.example"), "names the winner: {}", run.stderr);
    assert_eq!(h.jira_creates() + h.sn_creates(), 0, "nothing written");
    assert_eq!(twins(&h), [0, 0]);
}

#[tokio::test]
async fn a_fresh_heartbeat_of_another_instance_refuses_until_take_over() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    h.ok(&["sync"]).await;
    plant(&h, &other_instance(TimeDelta::seconds(5))).await;
    h.clear_logs();

    let refused = h.run(&["apply", "--yes"]).await;
    assert_eq!(refused.code(), Some(HELD), "{}\n{}", refused.stdout, refused.stderr);
    for needle in ["standby.example", "pid 4242", "0123456789abcdef", "fresh until", "--take-over"] {
        assert!(refused.stderr.contains(needle), "the refusal says {needle:?}: {}", refused.stderr);
    }
    assert!(h.mutations().is_empty() && h.lease_writes().is_empty(), "nothing written: {:?}", h.mutations());
    let (jira, sn) = beats(&h).await;
    assert_eq!(
        (jira.unwrap()["host"].clone(), sn.unwrap()["host"].clone()),
        (json!("standby.example"), json!("standby.example")),
        "the holder's heartbeat is left alone"
    );
    // Reads are never blocked.
    h.ok(&["sync"]).await;
    h.ok(&["audit"]).await;

    let took = h.run(&["apply", "--yes", "--take-over"]).await;
    assert_eq!(took.code(), Some(0), "{}\n{}", took.stdout, took.stderr);
    assert!(took.stderr.contains("taking over the writer lease"), "logged: {}", took.stderr);
    assert_eq!(twins(&h), [1, 1]);
}

#[tokio::test]
async fn a_stale_heartbeat_is_taken_over_and_logged() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    h.ok(&["sync"]).await;
    plant(&h, &other_instance(TimeDelta::minutes(10))).await;

    let run = h.run(&["apply", "--yes"]).await;
    assert_eq!(run.code(), Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("heartbeat is stale"), "the takeover is logged: {}", run.stderr);
    assert!(run.stderr.contains("standby.example"), "naming whom: {}", run.stderr);
    assert_eq!(twins(&h), [1, 1]);
    let (jira, sn) = beats(&h).await;
    let (jira, sn) = (jira.unwrap(), sn.unwrap());
    assert_eq!(jira["host"], json!(host()), "{jira}");
    assert_eq!(jira["instance"], sn["instance"], "one instance in both trackers");
}

#[tokio::test]
async fn a_clean_exit_releases_the_lease_and_another_instance_writes_at_once() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    h.ok(&["sync"]).await;
    assert_eq!(beats(&h).await, (None, None), "no heartbeat before the first write");
    h.ok(&["apply", "--yes"]).await;
    let (jira, sn) = beats(&h).await;
    let (jira, sn) = (jira.expect("a heartbeat in Jira"), sn.expect("a heartbeat in ServiceNow"));
    assert_eq!(jira, sn, "the same heartbeat in both trackers");
    assert_eq!(jira["released"], json!(true), "released on exit: {jira}");
    assert_eq!(jira["pid"].as_u64().map(|_| jira["host"].clone()), Some(json!(host())), "{jira}");
    assert_eq!(jira["ttl_seconds"], json!(120), "policy.writer_ttl_seconds by default: {jira}");
    assert_eq!(twins(&h), [1, 1]);

    // Another instance (its own mirror), well within the TTL: the released lease lets it write.
    let second = Second::beside(&h);
    let run = second.run(&["apply", "--yes", "--sync"]).await;
    assert_eq!(run.code(), Some(0), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(twins(&h), [1, 1], "it adopts what the first did; no duplicate");
    let (after, _) = beats(&h).await;
    assert_ne!(after.unwrap()["instance"], jira["instance"], "the second instance claimed (and released) it");

    // The same mirror again: its own released heartbeat is no obstacle, and a dry run claims nothing.
    h.ok(&["apply", "--yes"]).await;
    h.clear_logs();
    h.ok(&["apply"]).await;
    assert!(h.lease_writes().is_empty(), "a dry run writes no heartbeat: {:?}", h.lease_writes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemon_cycles_at_once_make_no_duplicate_twins() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    let second = Second::beside(&h);
    h.ok(&["sync"]).await;
    assert_eq!(second.run(&["sync"]).await.code(), Some(0));

    // `run --once`: the daemon's cycle (sync, apply, follow-back), both at once.
    let (first, other) = tokio::join!(h.run(&["run", "--once"]), second.run(&["run", "--once"]));
    let codes = [first.code(), other.code()];
    println!("two daemon cycles at once: exit codes {codes:?}, twins per source {:?}", twins(&h));
    assert_eq!(twins(&h), [1, 1], "each misfiled item got exactly one twin");
    assert_eq!(h.jira_creates() + h.sn_creates(), 2, "two creates in all");
    assert!(codes.contains(&Some(0)), "one cycle writes: {codes:?}\n{}\n{}", first.stderr, other.stderr);
    // The other either found the lease held (exit 5, naming the holder) or, if it came later, the lease
    // released and the moves done.
    for run in [&first, &other] {
        match run.code() {
            Some(0) => {}
            Some(HELD) => assert!(run.stderr.contains("holds the writer lease"), "{}", run.stderr),
            code => panic!("exit {code:?}: {}", run.stderr),
        }
    }
}

#[tokio::test]
async fn a_servicenow_instance_denying_sys_properties_refuses_the_run_and_says_what_to_grant() {
    let world = twotrack::demo::WorldOptions {
        servicenow_denied_tables: vec!["sys_properties".into()],
        ..twotrack::demo::WorldOptions::default()
    };
    let h = Harness::start_with(backlog(), &Policy::writes(), world).await;
    h.ok(&["sync"]).await;
    h.clear_logs();
    let run = h.run(&["apply", "--yes"]).await;
    assert_eq!(run.code(), Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("sys_properties") && run.stderr.contains("twotrack.writer."), "{}", run.stderr);
    assert!(run.stderr.contains("grant the integration user"), "says what to do: {}", run.stderr);
    assert!(h.mutations().is_empty(), "no item written without the lease: {:?}", h.mutations());
}

/// Two daemons (`twotrack run`, each with its own mirror) against the same trackers are a failover pair:
/// the first to apply holds the writer lease and moves the backlog; the other stands by (its apply runs
/// counted `standby`, nothing written by it); the holder killed with SIGKILL (its lease not released),
/// its heartbeat goes stale after the TTL and the standby takes over, moving a report that arrived
/// since, with no duplicate of what the holder moved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_daemon_takes_over_when_the_holder_is_killed() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    // Sync and apply every second; the shortest TTL allowed, so that a killed holder goes stale soon.
    let mut text = std::fs::read_to_string(&h.config).unwrap();
    assert_eq!(text.matches("[policy]\n").count(), 1, "{text}");
    text = text.replace("[policy]\n", "[policy]\nwriter_ttl_seconds = 10\n");
    text += "\n[schedule]\nsync = \"*/1 * * * * *\"\napply = \"*/1 * * * * *\"\nfollowback = \"0 0 0 1 1 *\"\n";
    std::fs::write(&h.config, text).unwrap();
    let second = Second::beside(&h);
    let http = reqwest::Client::new();
    let scrape = async |addr: &str| -> Option<String> {
        http.get(format!("http://{addr}/metrics")).send().await.ok()?.text().await.ok()
    };
    let apply_runs =
        |text: &str, outcome: &str| metric(text, "twotrack_job_runs_total", &[("job", "apply"), ("outcome", outcome)]);

    let (holder, _) = Daemon::start(&h.config, h.dir.path(), &h.dir.path().join("listen")).await;
    eventually("the holder's moves", async || (twins(&h) == [1, 1]).then_some(())).await;
    let holder_instance = beats(&h).await.0.expect("the holder's heartbeat")["instance"].clone();

    let config = second.dir.join("twotrack.toml");
    let (standby, addr) = Daemon::start(&config, &second.dir, &second.dir.join("listen")).await;
    let text = eventually("two apply runs standing by", async || {
        let text = scrape(&addr).await?;
        (apply_runs(&text, "standby") >= 2.0).then_some(text)
    })
    .await;
    assert_eq!(apply_runs(&text, "failed"), 0.0, "standing by is no failure: {text}");
    assert_eq!(h.jira_creates() + h.sn_creates(), 2, "the standby wrote nothing");

    // The holder dies without a clean exit; a new misfiled report arrives.
    drop(holder);
    let more = more_work_in_jira();
    let key = h.jira_file(&more.filed_type, &more.summary, &more.description).await;
    eventually("the standby's takeover and move", async || (h.sn_twins(&key).len() == 1).then_some(())).await;
    let (jira, sn) = beats(&h).await;
    let (jira, sn) = (jira.unwrap(), sn.unwrap());
    assert_ne!(jira["instance"], holder_instance, "the standby holds the lease now: {jira}");
    assert_eq!(jira["instance"], sn["instance"], "in both trackers");
    assert_eq!(twins(&h), [1, 1], "the holder's moves are not repeated");
    // Jira: the first twin and the reporter's new issue; ServiceNow: the first twin and the new one's.
    assert_eq!((h.jira_creates(), h.sn_creates()), (2, 2), "one create more than the report: its twin");
    // The twin appears while that apply run is still going: its count follows when the run ends.
    eventually("the standby's apply run counted", async || {
        let text = scrape(&addr).await?;
        (apply_runs(&text, "ok") >= 1.0).then_some(())
    })
    .await;
    drop(standby);
}
