//! Credentials. They live in `secrecy` types from the moment they are read and never print.

pub use secrecy::{ExposeSecret, SecretString};

/// How a connector authenticates.
#[derive(Clone)]
pub enum Auth {
    /// HTTP Basic: Jira Cloud `email:api_token`, ServiceNow `user:password`.
    Basic { user: String, token: SecretString },
    /// `Authorization: Bearer <token>`: Jira Data Center PAT, OAuth access tokens.
    Bearer { token: SecretString },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Basic { user, .. } => {
                f.debug_struct("Basic").field("user", user).field("token", &"[REDACTED]").finish()
            }
            Auth::Bearer { .. } => f.debug_struct("Bearer").field("token", &"[REDACTED]").finish(),
        }
    }
}
