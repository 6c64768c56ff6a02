//! A `twotrack run` daemon as a child process, for tests that need the scheduled daemon itself.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Poll `f` every 100 ms until it returns `Some`, for at most 60 s.
pub async fn eventually<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The daemon, killed with SIGKILL when dropped (no clean exit: its writer lease is not released).
pub struct Daemon(std::process::Child);

impl Daemon {
    /// Start `twotrack run` with `config` in `dir`; its address once it listens (written to `listen_file`).
    pub async fn start(config: &Path, dir: &Path, listen_file: &Path) -> (Daemon, String) {
        let daemon = Daemon(
            Command::new(env!("CARGO_BIN_EXE_twotrack"))
                .arg("--config")
                .arg(config)
                .args(["run", "--listen-file"])
                .arg(listen_file)
                .current_dir(dir)
                .env_remove("TWOTRACK_FAILPOINT")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let addr = eventually("the listen file", async || {
            std::fs::read_to_string(listen_file).ok().filter(|s| s.ends_with('\n')).map(|s| s.trim().to_string())
        })
        .await;
        (daemon, addr)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
