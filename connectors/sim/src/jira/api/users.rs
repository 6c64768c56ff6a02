//! The site's users: everyone who reported an issue, the API user, and users added by a test; with the
//! e-mail addresses their privacy setting hides (Cloud), and `GET user/search`.
//!
//! - Cloud: `GET user/search?query=` matches a prefix of `displayName` or `emailAddress` (case-insensitive)
//!   and answers users by account id; `emailAddress` is left out of every representation of a user who
//!   hides it. Whether a hidden address is still matched is not documented: the simulator matches the
//!   whole address only (an assumption, see API-NOTES.md), never a prefix of it.
//! - Data Center: `GET user/search?username=` matches a prefix of the user name, display name or e-mail
//!   address; addresses are always shown.
//! - `startAt` (0) and `maxResults` (50, at most 1000) page the matches, in display-name order.

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::super::Flavour;
use super::super::error::ApiError;
use super::super::store::User;
use super::{Ctx, Params};

/// Everyone the site knows.
#[derive(Debug, Default)]
pub struct Directory {
    users: Vec<User>,
}

impl Directory {
    /// Adds `user` unless a user with the same account id is known.
    pub fn add(&mut self, user: User) {
        if !self.users.iter().any(|u| u.account_id == user.account_id) {
            self.users.push(user);
        }
    }

    /// The user with this account id (Cloud) or user name (Data Center).
    pub fn find(&self, flavour: Flavour, id: &str) -> Option<&User> {
        self.users.iter().find(|u| match flavour {
            Flavour::Cloud => u.account_id == id,
            Flavour::DataCenter => u.name.eq_ignore_ascii_case(id),
        })
    }

    /// The users `term` finds, in display-name order.
    fn search(&self, flavour: Flavour, term: &str, hides: impl Fn(&str) -> bool) -> Vec<&User> {
        let term = term.trim().to_lowercase();
        let starts = |s: &str| s.to_lowercase().starts_with(&term);
        let mut found: Vec<&User> = self
            .users
            .iter()
            .filter(|u| {
                let email = u.email.as_deref().unwrap_or_default();
                let hidden = flavour == Flavour::Cloud && hides(email);
                starts(&u.display_name)
                    || (flavour == Flavour::DataCenter && starts(&u.name))
                    || (!hidden && starts(email))
                    || (hidden && email.eq_ignore_ascii_case(&term))
            })
            .collect();
        found.sort_by(|a, b| a.display_name.cmp(&b.display_name).then_with(|| a.account_id.cmp(&b.account_id)));
        found
    }
}

/// `GET user/search`.
pub async fn search(State(ctx): State<Ctx>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref());
    let flavour = ctx.shared.flavour;
    let term = match flavour {
        Flavour::Cloud => params.get("query").or_else(|| params.get("accountId")),
        Flavour::DataCenter => params.get("username"),
    };
    let Some(term) = term.filter(|t| !t.trim().is_empty()) else {
        let which = if flavour == Flavour::Cloud { "query" } else { "username" };
        return Err(ApiError::bad_request(format!("The '{which}' query parameter is required.")));
    };
    let start = usize::try_from(params.int("startAt", 0)?.max(0)).unwrap_or(0);
    let max = usize::try_from(params.int("maxResults", 50)?.clamp(0, 1000)).unwrap_or(50);
    let directory = ctx.shared.users();
    let view = ctx.view();
    let found: Vec<serde_json::Value> = directory
        .search(flavour, term, |email| view.hides(email))
        .into_iter()
        .skip(start)
        .take(max)
        .map(|u| view.user(u))
        .collect();
    Ok(axum::Json(found).into_response())
}

/// The user a create's `fields.reporter` names (`{"accountId"}` in Cloud, `{"name"}` in Data Center), or
/// the field's error: not on the create screen of `project`, or not a user.
pub(super) fn reporter(ctx: &Ctx, project: &str, value: &Value, errors: &mut Map<String, Value>) -> Option<User> {
    let shared = &ctx.shared;
    let locked = shared.reporter_locked_projects.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if locked.iter().any(|p| p.eq_ignore_ascii_case(project)) {
        errors.insert("reporter".into(), json!(super::super::edit::not_on_screen("reporter")));
        return None;
    }
    let key = match shared.flavour {
        Flavour::Cloud => "accountId",
        Flavour::DataCenter => "name",
    };
    let found = value.get(key).and_then(Value::as_str).and_then(|id| shared.users().find(shared.flavour, id).cloned());
    if found.is_none() {
        errors.insert("reporter".into(), json!("The reporter specified is not a user."));
    }
    found
}
