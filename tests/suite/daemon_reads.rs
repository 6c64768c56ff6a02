//! Looking inside a running daemon (issue 14, point 1): while `twotrack run` holds the mirror, the read
//! commands ask it over its read API (found through the announcement beside the mirror) and say so;
//! the write commands name the daemon that holds the mirror. With `[daemon] token`, the read API asks
//! for the token, the CLI sends its own, and the token shows nowhere. A listener other machines can
//! reach needs a token.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use twotrack::demo::{World, WorldOptions};

/// Generous: the machine may be busy compiling next to us.
const DEADLINE: Duration = Duration::from_secs(90);
const TOKEN: &str = "daemon-s3cret-token-4711";

/// Run the CLI (blocking this worker: the simulators go on on the other).
fn twotrack(config: &Path, args: &[&str], token: Option<&str>) -> Output {
    tokio::task::block_in_place(|| run_cli(config, args, token))
}

fn run_cli(config: &Path, args: &[&str], token: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_twotrack"));
    cmd.arg("--config").arg(config).args(args).env_remove("RUST_LOG").env_remove("TT_DAEMON_TOKEN");
    if let Some(token) = token {
        cmd.env("TT_DAEMON_TOKEN", token);
    }
    cmd.stdin(Stdio::null()).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A dry-run configuration for the world (nothing is written to the trackers, so the report holds
/// still), syncing every second; with `token`, the read API asks for `TT_DAEMON_TOKEN`.
fn config(world: &World, dir: &Path, token: bool) -> PathBuf {
    let path = world.write_config(dir, true, 10).unwrap();
    let mut text =
        std::fs::read_to_string(&path).unwrap().replace(r#"sync = "*/20 * * * * *""#, r#"sync = "*/1 * * * * *""#);
    if token {
        text = text.replace("[daemon]\n", "[daemon]\ntoken = { env = \"TT_DAEMON_TOKEN\" }\n");
    }
    std::fs::write(&path, text).unwrap();
    path
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(config: &Path, token: Option<&str>) -> Daemon {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_twotrack"));
    cmd.arg("--config").arg(config).arg("run").env_remove("RUST_LOG");
    if let Some(token) = token {
        cmd.env("TT_DAEMON_TOKEN", token);
    }
    Daemon(cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap())
}

/// Run `args` until it succeeds (the daemon's first sync and audit take a moment), failing after the
/// deadline with its last output.
async fn until_ok(config: &Path, args: &[&str], token: Option<&str>) -> Output {
    let started = Instant::now();
    loop {
        let out = twotrack(config, args, token);
        if out.status.success() {
            return out;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "`twotrack {}` never succeeded; last: {:?}\n{}",
            args.join(" "),
            out.status,
            text(&out.stderr)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn announcement(mirror: &Path) -> serde_json::Value {
    let started = Instant::now();
    loop {
        if let Some(v) = std::fs::read(mirror.join("twotrack.daemon.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        {
            return v;
        }
        assert!(started.elapsed() < DEADLINE, "the daemon never announced itself beside {}", mirror.display());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_commands_ask_the_running_daemon_and_write_commands_name_it() {
    let world = World::start(&WorldOptions { seed: 3, items: 60, misfiled_share: 0.1, ..WorldOptions::default() })
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config(&world, dir.path(), false);
    let mirror = dir.path().join("mirror");
    let mut daemon = start(&config, None);
    let announced = announcement(&mirror).await;
    assert_eq!(announced["pid"], daemon.0.id());
    assert!(announced["url"].as_str().unwrap().starts_with("http://127.0.0.1:"), "{announced}");
    assert_eq!(announced["token_required"], false);

    // audit: the daemon's report, said so on stderr; the same report a local audit gives afterwards.
    let out = until_ok(&config, &["audit", "--format", "json"], None).await;
    let stderr = text(&out.stderr);
    assert!(stderr.contains("the running daemon (pid") && stderr.contains("the daemon's audit of"), "{stderr}");
    let remote: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let misfiled =
        remote["totals"]["work_in_product"].as_u64().unwrap() + remote["totals"]["value_in_service"].as_u64().unwrap();
    assert!(remote["totals"]["open_items"].as_u64().unwrap() > 0, "{}", remote["totals"]);
    assert!(misfiled > 0, "the world has misfiled items: {}", remote["totals"]);

    // --fail-on works through the daemon; --out writes the file and the summary line.
    let out = twotrack(&config, &["audit", "--fail-on", "misfiled"], None);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with('#'), "markdown by default");
    let html = dir.path().join("report.html");
    let out = twotrack(&config, &["audit", "--out", html.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(std::fs::read_to_string(&html).unwrap().contains("<html"));
    assert!(text(&out.stderr).contains(&format!("{misfiled} misfiled")), "{}", text(&out.stderr));

    // One tracker: audited by the daemon on demand.
    let out = twotrack(&config, &["audit", "--tracker", "jira", "--format", "json"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let jira: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let open = |name: &str| {
        jira["trackers"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap()["open_items"].as_u64().unwrap()
    };
    assert!(open("jira") > 0 && open("servicenow") == 0, "{}", jira["trackers"]);

    // history through the daemon.
    let out = twotrack(&config, &["history", "SHOP-1"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "No twotrack history for SHOP-1.\n");

    // explain and mirror stats through the daemon.
    let key = remote["findings"][0]["key"].as_str().expect("a finding").to_string();
    let out = twotrack(&config, &["explain", &key], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let explained = text(&out.stdout);
    assert!(explained.starts_with(&format!("{key} in ")) && explained.contains("verdict:"), "{explained}");
    let out = twotrack(&config, &["explain", &key, "--json"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["id"], key.as_str(), "{line}");
    let out = twotrack(&config, &["explain", "NOPE-1"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no item \"NOPE-1\""), "{}", text(&out.stderr));
    let out = twotrack(&config, &["mirror", "stats", "--json"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(stats.to_string().contains("jira"), "{stats}");

    // Commands that need the mirror to themselves name the daemon instead of a bare "locked".
    for args in [&["sync"][..], &["mirror", "export"], &["apply"]] {
        let out = twotrack(&config, args, None);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("held by the running daemon (pid") && stderr.contains("stop the daemon first"),
            "{args:?}: {stderr}"
        );
    }

    // A clean stop removes the announcement; the mirror then reads locally again.
    kill(&daemon.0, "TERM");
    let status = wait(&mut daemon.0).await;
    assert!(status.success(), "{status:?}");
    assert!(!mirror.join("twotrack.daemon.json").exists(), "the announcement is removed at a clean stop");
    let out = twotrack(&config, &["audit", "--format", "json"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("daemon"), "{}", text(&out.stderr));
    let local: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(local["totals"], remote["totals"], "the daemon served the audit of the same mirror");
    let out = twotrack(&config, &["explain", &key], None);
    assert_eq!(text(&out.stdout), explained, "the daemon explains as the CLI does");
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_api_asks_for_the_token_and_never_shows_it() {
    let world = World::start(&WorldOptions { seed: 4, items: 50, misfiled_share: 0.1, ..WorldOptions::default() })
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config(&world, dir.path(), true);
    let mirror = dir.path().join("mirror");
    let _daemon = start(&config, Some(TOKEN));
    let announced = announcement(&mirror).await;
    assert_eq!(announced["token_required"], true);
    assert!(!announced.to_string().contains(TOKEN), "the announcement holds no secret");
    let url = announced["url"].as_str().unwrap().to_string();

    // With the token in this shell, the CLI reads through the daemon.
    let out = until_ok(&config, &["history", "SHOP-1"], Some(TOKEN)).await;
    assert_eq!(text(&out.stdout), "No twotrack history for SHOP-1.\n");

    // Without it (or with a wrong one): refused, with what to do; the token never printed.
    for token in [None, Some("wrong")] {
        let out = twotrack(&config, &["audit"], token);
        assert_eq!(out.status.code(), Some(1));
        let stderr = text(&out.stderr);
        assert!(stderr.contains("asks for its bearer token") && stderr.contains("[daemon] token"), "{stderr}");
        assert!(!stderr.contains(TOKEN) && !text(&out.stdout).contains(TOKEN));
    }
    let client = reqwest::Client::new();
    let bare = client.get(format!("{url}/v1/report")).send().await.unwrap();
    assert_eq!(bare.status(), 401);
    assert_eq!(bare.headers()["www-authenticate"], "Bearer");
    let body = bare.text().await.unwrap();
    assert!(!body.contains(TOKEN), "{body}");
    // Health and metrics stay open (they say nothing about the items).
    assert_eq!(client.get(format!("{url}/healthz")).send().await.unwrap().status(), 200);
    // config show redacts the token.
    let out = twotrack(&config, &["config", "show"], Some(TOKEN));
    assert!(text(&out.stdout).contains("[redacted]") && !text(&out.stdout).contains(TOKEN), "{}", text(&out.stdout));
    world.shutdown().await;
}

#[test]
fn a_listener_other_machines_can_reach_needs_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("twotrack.toml");
    let example = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/twotrack.example.toml"))
        .unwrap()
        .replace("# listen = \"127.0.0.1:9464\"", "listen = \"0.0.0.0:9464\"");
    let check = |text: &str| {
        std::fs::write(&path, text).unwrap();
        Command::new(env!("CARGO_BIN_EXE_twotrack"))
            .arg("--config")
            .arg(&path)
            .args(["config", "check"])
            .env("JIRA_TOKEN", "t")
            .env("SERVICENOW_TOKEN", "t")
            .env("TT_DAEMON_TOKEN", TOKEN)
            .output()
            .unwrap()
    };
    let out = check(&example);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("can be reached from other machines") && stderr.contains("token ="), "{stderr}");

    let with_token =
        example.replace("# token = { env = \"TWOTRACK_DAEMON_TOKEN\" }", "token = { env = \"TT_DAEMON_TOKEN\" }");
    let out = check(&with_token);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // The resolved token shows neither in Debug output nor in `config show`.
    let inline = with_token.replace("token = { env = \"TT_DAEMON_TOKEN\" }", &format!("token = \"{TOKEN}\""));
    let config = twotrack::config::parse_with(&inline, &path, twotrack::config::Secrets::Deferred).unwrap();
    assert!(config.daemon.token.is_some());
    assert!(!format!("{config:?}").contains(TOKEN));
    assert!(!config.to_redacted_toml().contains(TOKEN));
}

fn kill(child: &Child, signal: &str) {
    let status = Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

async fn wait(child: &mut Child) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(started.elapsed() < DEADLINE, "the daemon did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_line_says_how_many_moves_wait() {
    let world = World::start(&WorldOptions { seed: 3, items: 60, misfiled_share: 0.1, ..WorldOptions::default() })
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = world.write_config(dir.path(), true, 1).unwrap();
    let out = twotrack(&config, &["sync"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = dir.path().join("report.md");
    let out = twotrack(&config, &["audit", "--out", report.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("would wait for later cycles (max_moves = 1)"), "{stderr}");
    world.shutdown().await;
}

/// The daemon's HTML report lists the first findings (`findings=N`) and links to all of them as CSV and
/// JSON, which it streams; `audit --format html --out` through the daemon writes the CSV beside the page
/// and the page links to that file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_serves_a_capped_page_and_every_finding_beside_it() {
    let world = World::start(&WorldOptions { seed: 4, items: 50, misfiled_share: 0.1, ..WorldOptions::default() })
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config(&world, dir.path(), false);
    let _daemon = start(&config, None);
    let url = announcement(&dir.path().join("mirror")).await["url"].as_str().unwrap().to_string();
    let client = reqwest::Client::new();
    let get = async |query: &str| {
        let started = Instant::now();
        loop {
            let answer = client.get(format!("{url}/v1/report?{query}")).send().await.unwrap();
            if answer.status() == 200 {
                let total: usize = answer.headers()["x-twotrack-findings"].to_str().unwrap().parse().unwrap();
                return (total, answer.text().await.unwrap());
            }
            assert!(started.elapsed() < DEADLINE, "{query}: {}", answer.status());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let records = |csv: &str| csv::Reader::from_reader(csv.as_bytes()).records().map(Result::unwrap).count();

    let (total, page) = get("format=html&findings=3").await;
    assert!(total > 3, "the world has findings to cap: {total}");
    assert!(page.contains(&format!("Not listed here: {} more findings", total - 3)), "{page}");
    assert!(page.contains(r#"href="/v1/report?format=csv""#) && page.contains(r#"href="/v1/report?format=json""#));
    let (_, csv) = get("format=csv").await;
    assert_eq!(records(&csv), total, "the CSV holds every finding");
    let (_, page) = get("format=html&findings=3&tracker=jira").await;
    assert!(page.contains(r#"href="/v1/report?format=csv&amp;tracker=jira""#), "one tracker's lists: {page}");

    // The CLI reads through the daemon: the page, and every finding in a file beside it.
    let out_page = dir.path().join("audit.html");
    let out = twotrack(
        &config,
        &["audit", "--format", "html", "--html-findings", "3", "--out", out_page.to_str().unwrap()],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("the daemon's audit"), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(&out_page).unwrap();
    assert!(written.contains(r#"href="audit.findings.csv""#), "{written}");
    let beside = std::fs::read_to_string(dir.path().join("audit.findings.csv")).unwrap();
    assert_eq!(records(&beside), total);
    world.shutdown().await;
}
