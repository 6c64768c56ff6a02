//! What the sync benchmarks share: the simulators on runtimes of their own, their configuration, and a
//! `twotrack sync` child whose peak RSS and CPU time are polled.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::runtime::Runtime;
use twotrack_sim::SimAuth;
use twotrack_sim::faults::FaultSpec;
use twotrack_sim::generator::GeneratedItem;
use twotrack_sim::jira::{JiraOptions, JiraSim};
use twotrack_sim::log::RequestLog;
use twotrack_sim::servicenow::{ServiceNowOptions, ServiceNowSim};

pub const SEED: u64 = 42;
pub const TABLES: [&str; 6] = ["incident", "sc_req_item", "sc_task", "rm_story", "rm_defect", "rm_enhancement"];
/// Linux reports process CPU times in USER_HZ ticks, 100 per second.
const TICKS_PER_SECOND: f64 = 100.0;

/// Both simulators, each on its own single-threaded runtime.
pub struct Sims {
    pub jira: JiraSim,
    pub servicenow: ServiceNowSim,
    jira_runtime: Runtime,
    servicenow_runtime: Runtime,
}

impl Sims {
    pub fn start(items: Vec<GeneratedItem>, faults: FaultSpec) -> anyhow::Result<Sims> {
        let runtime = |name: &str| {
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).thread_name(name).enable_all().build()
        };
        let (jira_runtime, servicenow_runtime) = (runtime("jira-sim")?, runtime("servicenow-sim")?);
        let jira = jira_runtime.block_on(JiraSim::start(JiraOptions {
            items: items.clone(),
            faults: faults.clone(),
            ..JiraOptions::default()
        }))?;
        let servicenow = servicenow_runtime.block_on(ServiceNowSim::start(ServiceNowOptions {
            items,
            faults,
            seed: SEED,
            ..Default::default()
        }))?;
        Ok(Sims { jira, servicenow, jira_runtime, servicenow_runtime })
    }

    pub fn logs(&self) -> [(&'static str, RequestLog); 2] {
        [("jira", self.jira.log()), ("servicenow", self.servicenow.log())]
    }

    pub fn shutdown(self) {
        self.jira_runtime.block_on(self.jira.shutdown());
        self.servicenow_runtime.block_on(self.servicenow.shutdown());
    }
}

/// A finished child sync.
pub struct ChildRun {
    pub started: Instant,
    pub ended: Instant,
    pub wall: Duration,
    pub peak_rss_kb: u64,
    pub cpu_seconds: f64,
    pub stdout: String,
}

/// Run `twotrack sync <args>` to completion, polling its peak RSS and CPU time.
pub async fn run_sync(config: &Path, args: &[&str]) -> anyhow::Result<ChildRun> {
    run_twotrack(config, &[&["sync"], args].concat()).await
}

/// Run `twotrack -q <args>` to completion, polling its peak RSS and CPU time.
pub async fn run_twotrack(config: &Path, args: &[&str]) -> anyhow::Result<ChildRun> {
    run(config, args, true).await
}

/// [`run_twotrack`] for a command that prints a great deal (`classify`: a line per item): what it
/// prints is thrown away, not kept in [`ChildRun::stdout`].
pub async fn run_twotrack_unread(config: &Path, args: &[&str]) -> anyhow::Result<ChildRun> {
    run(config, args, false).await
}

async fn run(config: &Path, args: &[&str], read: bool) -> anyhow::Result<ChildRun> {
    let started = Instant::now();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_twotrack"))
        .arg("--config")
        .arg(config)
        .arg("-q")
        .args(args)
        .stdout(if read { std::process::Stdio::piped() } else { std::process::Stdio::null() })
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().context("the child has no pid")?.to_string();
    let stdout = child.stdout.take();
    let reader = tokio::spawn(async move {
        let mut text = String::new();
        if let Some(mut stdout) = stdout {
            tokio::io::AsyncReadExt::read_to_string(&mut stdout, &mut text).await?;
        }
        Ok::<_, std::io::Error>(text)
    });
    let (mut peak_rss_kb, mut cpu_seconds) = (0, 0.0);
    let status = loop {
        // Both only grow; the last reading before the exit is within one poll of the final value.
        if let Ok(kb) = vm_hwm_kb(&pid) {
            peak_rss_kb = peak_rss_kb.max(kb);
        }
        if let Ok(cpu) = cpu_seconds_of(&pid) {
            cpu_seconds = f64::max(cpu_seconds, cpu);
        }
        tokio::select! {
            status = child.wait() => break status?,
            () = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
    };
    let ended = Instant::now();
    let wall = ended - started;
    let stdout = reader.await??;
    anyhow::ensure!(status.success(), "twotrack {args:?} failed ({status}):\n{stdout}");
    Ok(ChildRun { started, ended, wall, peak_rss_kb, cpu_seconds, stdout })
}

/// "load average 0.52 0.61 0.70" (1, 5 and 15 minutes, from `/proc/loadavg`), or why it is unknown.
pub fn load_average() -> String {
    match std::fs::read_to_string("/proc/loadavg") {
        Ok(text) => format!("load average {}", text.split_whitespace().take(3).collect::<Vec<_>>().join(" ")),
        Err(e) => format!("load average unknown ({e})"),
    }
}

/// `VmHWM` (peak resident set) of `/proc/<pid>/status`, in kB.
pub fn vm_hwm_kb(pid: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).context("no VmHWM")?;
    Ok(line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse()?)
}

/// User plus system CPU time of all threads of a process (`/proc/<pid>/stat` fields 14 and 15).
fn cpu_seconds_of(pid: &str) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces; the fields after it are plain numbers.
    let rest = stat.rsplit_once(')').context("unreadable stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> anyhow::Result<f64> { Ok(fields.get(i).context("short stat")?.parse::<f64>()?) };
    // After the name: field 3 (state) is index 0, so utime (14) is index 11 and stime (15) index 12.
    Ok((ticks(11)? + ticks(12)?) / TICKS_PER_SECOND)
}

/// `dir/twotrack.toml` for the simulators: every generated table, a rate limit far above what is reached.
pub fn write_config(sims: &Sims, dir: &Path) -> anyhow::Result<PathBuf> {
    write_config_with(sims, dir, "", 100_000.0, 10_000)
}

/// `dir/twotrack.toml` for the simulators, each tracker with the keys `top` (e.g. `concurrency = 8`) and
/// a client-side rate limit of `per_second` with `burst`.
pub fn write_config_with(sims: &Sims, dir: &Path, top: &str, per_second: f64, burst: u32) -> anyhow::Result<PathBuf> {
    let (user, token) = SimAuth::default().basic.context("the simulators' default credentials")?;
    std::fs::create_dir_all(dir.join("secrets"))?;
    std::fs::write(dir.join("secrets").join("sim-token"), format!("{token}\n"))?;
    let tracker = |name: &str, kind: &str, role: &str, url: String, scope: String| {
        format!(
            "[[tracker]]\nname = \"{name}\"\nkind = \"{kind}\"\nrole = \"{role}\"\nbase_url = \"{url}\"\n{top}\n\
             [tracker.auth]\nuser = \"{user}\"\ntoken = {{ file = \"secrets/sim-token\" }}\n\n\
             [tracker.rate]\nper_second = {per_second:?}\nburst = {burst}\n\n[tracker.scope]\n{scope}\n\n"
        )
    };
    let tables: Vec<String> = TABLES.iter().map(|t| format!("{t:?}")).collect();
    let text = format!(
        "{}{}[mirror]\npath = \"mirror\"\n",
        tracker("jira", "jira", "product", sims.jira.base_url(), "projects = [\"SHOP\"]".into()),
        tracker(
            "servicenow",
            "servicenow",
            "service",
            sims.servicenow.base_url(),
            format!("tables = [{}]", tables.join(", "))
        ),
    );
    let path = dir.join("twotrack.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}
