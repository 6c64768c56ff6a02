//! How a command finds the running daemon: while `twotrack run` holds the mirror, it records where it
//! listens in a small file beside the mirror's store (`<mirror.path>/twotrack.daemon.json`). A read
//! command that finds the mirror locked reads it and asks the daemon instead.
//!
//! The file says where, never a secret: the token comes from the reader's own configuration. It is
//! written atomically once the listener is bound and removed at a clean stop; a daemon killed with
//! SIGKILL leaves it behind, which is harmless: the reader then finds nobody answering at that address
//! and says so.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The file's name inside the mirror directory.
pub const FILE_NAME: &str = "twotrack.daemon.json";

/// What a running daemon says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    /// The base URL of its HTTP listener, e.g. `http://127.0.0.1:9464`.
    pub url: String,
    pub pid: u32,
    pub started_at: DateTime<Utc>,
    /// Whether its read API asks for a bearer token (`[daemon] token`).
    pub token_required: bool,
}

impl Announcement {
    /// The announcement of this process, listening on `bound`.
    pub fn new(bound: SocketAddr, started_at: DateTime<Utc>, token_required: bool) -> Announcement {
        Announcement {
            url: format!("http://{}", reachable(bound)),
            pid: std::process::id(),
            started_at,
            token_required,
        }
    }
}

/// Where the announcement of the daemon holding the mirror at `mirror_dir` is.
pub fn path(mirror_dir: &Path) -> PathBuf {
    mirror_dir.join(FILE_NAME)
}

/// Read the announcement beside the mirror at `mirror_dir`: `None` when there is none (or it is not
/// one: a damaged file is as good as none, the caller then reports the lock itself).
pub fn read(mirror_dir: &Path) -> Option<Announcement> {
    let text = std::fs::read(path(mirror_dir)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Write the announcement through a temporary file and a rename, so a reader never sees half of it.
pub fn write(mirror_dir: &Path, announcement: &Announcement) -> std::io::Result<()> {
    let text = serde_json::to_vec_pretty(announcement).map_err(std::io::Error::other)?;
    let target = path(mirror_dir);
    let tmp = mirror_dir.join(format!("{FILE_NAME}.tmp"));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, target)
}

/// Remove the announcement if it is this process's (a second daemon that failed to start must not
/// remove the running one's).
pub fn remove(mirror_dir: &Path) {
    if read(mirror_dir).is_some_and(|a| a.pid == std::process::id()) {
        let _ = std::fs::remove_file(path(mirror_dir));
    }
}

/// An address a client on this machine can connect to: a wildcard listen address (`0.0.0.0`, `::`)
/// is reached through the loopback address of its family.
fn reachable(bound: SocketAddr) -> SocketAddr {
    let ip = match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bound.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_listener_is_announced_on_loopback() {
        let at = Utc::now();
        let a = Announcement::new("0.0.0.0:9464".parse().unwrap(), at, true);
        assert_eq!(a.url, "http://127.0.0.1:9464");
        assert_eq!(Announcement::new("[::]:80".parse().unwrap(), at, false).url, "http://[::1]:80");
        assert_eq!(Announcement::new("10.1.2.3:9464".parse().unwrap(), at, true).url, "http://10.1.2.3:9464");
    }

    #[test]
    fn written_read_back_and_removed_only_by_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()), None);
        let mine = Announcement::new("127.0.0.1:1".parse().unwrap(), Utc::now(), false);
        write(dir.path(), &mine).unwrap();
        assert_eq!(read(dir.path()), Some(mine.clone()));

        let other = Announcement { pid: mine.pid.wrapping_add(1), ..mine };
        write(dir.path(), &other).unwrap();
        remove(dir.path());
        assert_eq!(read(dir.path()), Some(other), "another process's announcement stays");

        std::fs::write(path(dir.path()), "not json").unwrap();
        assert_eq!(read(dir.path()), None, "a damaged file is no announcement");
    }
}
