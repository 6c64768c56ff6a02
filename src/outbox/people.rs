//! The people of a move: the twin is created on behalf of the original's reporter, found in the target
//! tracker by e-mail. Where they cannot be found, or the tracker refuses the field (Jira answers 400 when
//! `reporter` is not on the project's create screen), the twin is still created, by the API user, and its
//! description says on whose behalf; the reporter still hears of the outcome through the original (the
//! follow-back is left there, never on the twin).

use twotrack_api::connector::{Created, NewItem, Person};
use twotrack_api::{Connector, Item};

use super::saga::create_once;
use super::{Correction, Ctx, OutboxError};
use crate::registry::AnyConnector;

/// Whom a twin was created for, and how it went: for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Behalf {
    /// The original names nobody (or the tracker showed no one).
    Nobody,
    /// Set on the twin (Jira `reporter`, ServiceNow `caller_id` / `requested_for`).
    Set(Person),
    /// Named in the twin's description only, and why.
    Named { who: String, why: String },
}

impl Behalf {
    /// A clause for the audit log ("" when nobody).
    pub(super) fn detail(&self) -> String {
        match self {
            Behalf::Nobody => String::new(),
            Behalf::Set(p) => format!("; on behalf of {} <{}>", p.display_name, p.email),
            Behalf::Named { who, why } => format!("; on behalf of {who}, named in the description ({why})"),
        }
    }
}

/// How the original's reporter is named in text: "Ann Lee <ann.lee@example.com>".
fn who(original: &Item) -> Option<String> {
    match (original.reporter.as_deref(), original.reporter_email()) {
        (Some(name), Some(email)) if !name.eq_ignore_ascii_case(email) => Some(format!("{name} <{email}>")),
        (_, Some(email)) => Some(email.to_string()),
        (Some(name), None) => Some(name.to_string()),
        (None, None) => None,
    }
}

/// The line a twin created by the API user carries, naming the person it was created for.
fn behalf_line(who: &str, original: &Item) -> String {
    format!("Created by twotrack on behalf of {who}, who reported {}; they hear of the outcome there.", original.key)
}

/// Create the twin `item` of `original` in `target` on behalf of the original's reporter (see the module
/// documentation), never re-sent blindly ([`create_once`]). A create that names the person and is
/// rejected for it ([`Connector::refuses_person`]: a definite answer, nothing was created) is sent once
/// more without them.
pub(super) async fn create_twin(
    ctx: &Ctx<'_>,
    c: &Correction,
    target: &AnyConnector,
    original: &Item,
    item: &NewItem,
) -> Result<(Created, Behalf), OutboxError> {
    let Some(who) = who(original) else {
        return Ok((create_once(ctx, c, target, item, "before-create").await?, Behalf::Nobody));
    };
    // A tracker that will not tell who its people are (ServiceNow denies `sys_user` to some integration
    // users, HTTP 403) does not stop the move: the twin names the person instead. Only a transient failure
    // fails the attempt (it is retried).
    let person = match original.reporter_email() {
        Some(email) => match target.find_person(email).await {
            Ok(person) => Ok(person),
            Err(e) if e.is_retryable() => return Err(e.into()),
            Err(e) => Err(format!("{} could not be searched for people: {e}", target.name())),
        },
        None => Ok(None),
    };
    let named = |why: String| {
        let mut named = item.clone();
        named.reporter = None;
        named.description = format!("{}\n\n{}", named.description.trim_end(), behalf_line(&who, original));
        (named, Behalf::Named { who: who.clone(), why })
    };
    let (first, behalf) = match person {
        Ok(Some(person)) => (NewItem { reporter: Some(person.clone()), ..item.clone() }, Behalf::Set(person)),
        Ok(None) if original.reporter_email().is_none() => named("no e-mail address is known for them".into()),
        Ok(None) => named(format!("nobody in {} has that e-mail address", target.name())),
        Err(why) => named(why),
    };
    match create_once(ctx, c, target, &first, "before-create").await {
        Err(OutboxError::Connector(e)) if first.reporter.is_some() && target.refuses_person(&e) => {
            tracing::warn!(correction = %c.id, tracker = %target.name(), error = %e, "the twin's reporter could not be set; creating it without");
            let (second, behalf) = named(format!("{} refused the person: {e}", target.name()));
            Ok((create_once(ctx, c, target, &second, "before-create").await?, behalf))
        }
        other => Ok((other?, behalf)),
    }
}
