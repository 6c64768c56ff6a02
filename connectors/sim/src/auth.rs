//! Credentials the simulators accept, and the check of an `Authorization` header against them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The credentials a simulator accepts. A request is authenticated when it carries either of them.
///
/// When both are `None` the simulator accepts every request (an open instance).
#[derive(Clone, PartialEq, Eq)]
pub struct SimAuth {
    /// HTTP Basic credentials: (user or e-mail, password or API token).
    pub basic: Option<(String, String)>,
    /// A bearer token (a Jira Data Center PAT, a ServiceNow OAuth access token).
    pub bearer: Option<String>,
}

impl Default for SimAuth {
    /// Basic `twotrack@example.com` / `sim-token`, and bearer `sim-pat`.
    fn default() -> Self {
        SimAuth {
            basic: Some(("twotrack@example.com".to_owned(), "sim-token".to_owned())),
            bearer: Some("sim-pat".to_owned()),
        }
    }
}

impl std::fmt::Debug for SimAuth {
    /// Never prints secrets: only the user name and whether a bearer token is set.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimAuth")
            .field("basic_user", &self.basic.as_ref().map(|(user, _)| user))
            .field("bearer", &self.bearer.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The outcome of checking one request's `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// Authenticated; carries the user the request acts as.
    Authenticated(String),
    /// No `Authorization` header (or an empty one).
    Missing,
    /// A header was sent but the credentials do not match (or the scheme is not accepted).
    Invalid,
}

/// The user a request authenticated with a bearer token acts as, when no basic user is configured.
const BEARER_USER: &str = "integration.user";

impl SimAuth {
    /// No authentication at all: every request is accepted.
    pub fn open() -> Self {
        SimAuth { basic: None, bearer: None }
    }

    /// Whether this configuration accepts every request.
    pub fn is_open(&self) -> bool {
        self.basic.is_none() && self.bearer.is_none()
    }

    /// The user name writes are attributed to (the basic user, or a fixed integration user).
    pub fn user_name(&self) -> String {
        self.basic.as_ref().map_or_else(|| BEARER_USER.to_owned(), |(user, _)| user.clone())
    }

    /// Checks an `Authorization` header value (`None` when the header is absent).
    pub fn check(&self, header: Option<&str>) -> AuthOutcome {
        if self.is_open() {
            return AuthOutcome::Authenticated(self.user_name());
        }
        let Some(header) = header.map(str::trim).filter(|h| !h.is_empty()) else {
            return AuthOutcome::Missing;
        };
        let (scheme, credentials) = header.split_once(' ').unwrap_or((header, ""));
        let credentials = credentials.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            self.check_basic(credentials)
        } else if scheme.eq_ignore_ascii_case("bearer") {
            match &self.bearer {
                Some(token) if !credentials.is_empty() && credentials == token => {
                    AuthOutcome::Authenticated(self.user_name())
                }
                _ => AuthOutcome::Invalid,
            }
        } else {
            AuthOutcome::Invalid
        }
    }

    /// Checks a user and password pair against the basic credentials (used by token endpoints too).
    pub fn check_password(&self, user: &str, password: &str) -> bool {
        matches!(&self.basic, Some((u, p)) if u == user && p == password)
    }

    fn check_basic(&self, encoded: &str) -> AuthOutcome {
        let Ok(decoded) = STANDARD.decode(encoded) else { return AuthOutcome::Invalid };
        let Ok(decoded) = String::from_utf8(decoded) else { return AuthOutcome::Invalid };
        let Some((user, password)) = decoded.split_once(':') else { return AuthOutcome::Invalid };
        if self.check_password(user, password) {
            AuthOutcome::Authenticated(user.to_owned())
        } else {
            AuthOutcome::Invalid
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, password: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
    }

    #[test]
    fn accepts_the_configured_basic_and_bearer_credentials() {
        let auth = SimAuth::default();
        assert_eq!(
            auth.check(Some(&basic("twotrack@example.com", "sim-token"))),
            AuthOutcome::Authenticated("twotrack@example.com".into())
        );
        assert_eq!(auth.check(Some("Bearer sim-pat")), AuthOutcome::Authenticated("twotrack@example.com".into()));
    }

    #[test]
    fn rejects_missing_wrong_and_malformed_credentials() {
        let auth = SimAuth::default();
        assert_eq!(auth.check(None), AuthOutcome::Missing);
        assert_eq!(auth.check(Some("  ")), AuthOutcome::Missing);
        assert_eq!(auth.check(Some(&basic("twotrack@example.com", "nope"))), AuthOutcome::Invalid);
        assert_eq!(auth.check(Some("Bearer nope")), AuthOutcome::Invalid);
        assert_eq!(auth.check(Some("Basic !!!")), AuthOutcome::Invalid);
        assert_eq!(auth.check(Some("Digest abc")), AuthOutcome::Invalid);
    }

    #[test]
    fn an_open_configuration_accepts_anything_and_debug_hides_secrets() {
        assert!(matches!(SimAuth::open().check(None), AuthOutcome::Authenticated(_)));
        let shown = format!("{:?}", SimAuth::default());
        assert!(!shown.contains("sim-token") && !shown.contains("sim-pat"), "{shown}");
    }
}
