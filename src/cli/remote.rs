//! Read commands while the daemon runs: `twotrack run` holds the mirror (one process at a time can
//! open it), so `audit`, `history` and the other read commands, finding it locked, ask the daemon
//! over its read API (`/v1/...`, see [`crate::daemon::http`]) and say so on stderr. The daemon's
//! address is announced beside the mirror ([`crate::daemon::discovery`]); its token, when it asks
//! for one, comes from this process's configuration (`[daemon] token`).

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

use super::output::errln;
use crate::daemon::discovery::{self, Announcement};
use crate::mirror::{Mirror, MirrorError};

/// How long one request to the daemon may take (an audit of one tracker is computed on demand).
const TIMEOUT: Duration = Duration::from_secs(300);

/// The mirror, opened here, or the daemon that holds it.
pub enum Reader {
    Local(Mirror),
    Daemon(Daemon),
}

/// Open the mirror at `path` to read it; if a running daemon holds it, the daemon instead.
pub fn open(path: &Path, token: Option<&SecretString>, quiet: bool) -> anyhow::Result<Reader> {
    match Mirror::open_existing(path) {
        Ok(mirror) => Ok(Reader::Local(mirror)),
        Err(e @ MirrorError::Locked { .. }) => match discovery::read(path) {
            Some(announcement) => {
                if !quiet {
                    errln!(
                        "note: the running daemon (pid {}) holds the mirror; asking it at {}",
                        announcement.pid,
                        announcement.url
                    );
                }
                Ok(Reader::Daemon(Daemon { announcement, token: token.cloned() }))
            }
            None => Err(e.into()),
        },
        Err(e) => Err(e.into()),
    }
}

/// The error of a command that needs the mirror to itself and found it locked: name the daemon if it is
/// the one holding it.
pub fn locked(e: MirrorError, path: &Path) -> anyhow::Error {
    match (&e, discovery::read(path)) {
        (MirrorError::Locked { .. }, Some(a)) => anyhow::anyhow!(
            "the mirror at {} is held by the running daemon (pid {}, {}), which syncs and applies corrections on its \
             schedule; read commands (audit, explain, history, mirror stats, outbox list) ask it instead; to run \
             this command now, stop the daemon first",
            path.display(),
            a.pid,
            a.url
        ),
        _ => e.into(),
    }
}

/// A running daemon's read API.
pub struct Daemon {
    announcement: Announcement,
    token: Option<SecretString>,
}

/// A successful answer of the daemon.
pub struct Answer {
    pub body: String,
    headers: reqwest::header::HeaderMap,
}

impl Answer {
    /// A numeric header of the answer (0 when absent).
    pub fn count(&self, name: &str) -> u64 {
        self.headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Daemon {
    /// `GET` the daemon's `/segments...?query`; a refusal of the daemon is an error with its explanation.
    pub async fn get(&self, segments: &[&str], query: &[(&str, &str)]) -> anyhow::Result<Answer> {
        let a = &self.announcement;
        let mut url = url::Url::parse(&a.url)
            .ok()
            .filter(|u| !u.cannot_be_a_base())
            .with_context(|| format!("the daemon announced an address that is not a URL: {:?}", a.url))?;
        url.path_segments_mut().map_err(|()| anyhow::anyhow!("not a base URL: {}", a.url))?.extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let client = reqwest::Client::builder().timeout(TIMEOUT).build().context("cannot set up an HTTP client")?;
        let mut request = client.get(url);
        if let Some(token) = self.token.as_ref().filter(|t| !t.expose_secret().is_empty()) {
            request = request.bearer_auth(token.expose_secret());
        }
        let response = request.send().await.map_err(|e| {
            anyhow::anyhow!(
                "the mirror is locked, and the daemon that announced itself (pid {}, {}) does not answer: {}; if it \
                 is no longer running, another twotrack process holds the mirror",
                a.pid,
                a.url,
                without_url(&e)
            )
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let body =
            response.text().await.with_context(|| format!("the daemon at {} sent an unreadable answer", a.url))?;
        if status == reqwest::StatusCode::UNAUTHORIZED {
            anyhow::bail!(
                "the daemon at {} asks for its bearer token: set [daemon] token in this configuration to the daemon's \
                 (e.g. `token = {{ env = \"TWOTRACK_DAEMON_TOKEN\" }}` with the variable set in this shell)",
                a.url
            );
        }
        if !status.is_success() {
            anyhow::bail!("the daemon at {} answered {status}: {}", a.url, body.trim_end());
        }
        Ok(Answer { body, headers })
    }
}

/// A transport error without the URL (which reqwest repeats; the message names the daemon already).
fn without_url(e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut innermost = e.to_string();
    while let Some(s) = source {
        innermost = s.to_string();
        source = s.source();
    }
    innermost
}
