//! Reading secrets referenced by the configuration. The value goes straight into a [`SecretString`];
//! errors name the variable or file, never the value.

use std::path::Path;

use secrecy::SecretString;

use super::raw::RawSecret;

/// Why a secret could not be read: what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SecretError {
    pub message: String,
    pub help: String,
}

fn fail(message: String, help: impl Into<String>) -> SecretError {
    SecretError { message, help: help.into() }
}

/// Read the secret; a relative file path is relative to `dir` (the configuration file's directory).
pub(super) fn resolve(secret: &RawSecret, dir: &Path) -> Result<SecretString, SecretError> {
    match secret {
        RawSecret::Inline(value) => Ok(value.clone()),
        RawSecret::Env(name) => from_env(name),
        RawSecret::File(path) => from_file(&dir.join(path)),
    }
}

fn from_env(name: &str) -> Result<SecretString, SecretError> {
    if name.trim().is_empty() {
        return Err(fail(
            "empty environment variable name".into(),
            "write the variable's name, e.g. `env = \"JIRA_TOKEN\"`",
        ));
    }
    let set_it = format!("set it before starting twotrack (`export {name}=...`), or use `{{ file = \"/path\" }}`");
    match std::env::var(name) {
        Ok(value) if value.trim().is_empty() => Err(fail(format!("environment variable `{name}` is empty"), set_it)),
        Ok(value) => Ok(SecretString::from(value)),
        Err(std::env::VarError::NotPresent) => Err(fail(format!("environment variable `{name}` is not set"), set_it)),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(fail(format!("environment variable `{name}` is not valid UTF-8"), set_it))
        }
    }
}

fn from_file(path: &Path) -> Result<SecretString, SecretError> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| {
        fail(
            format!("cannot read secret file `{shown}`: {}", e.kind()),
            "check the path (relative paths are relative to the configuration file) and its permissions",
        )
    })?;
    let mut text = String::from_utf8(bytes)
        .map_err(|_| fail(format!("secret file `{shown}` is not valid UTF-8"), "write the secret as plain text"))?;
    let kept = text.trim_end_matches(['\n', '\r']).len();
    text.truncate(kept);
    if text.trim().is_empty() {
        return Err(fail(format!("secret file `{shown}` is empty"), "write the secret into the file"));
    }
    Ok(SecretString::from(text))
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn file_secrets_lose_their_trailing_newline_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), " s3cret \r\n").unwrap();
        let secret = resolve(&RawSecret::File("token".into()), dir.path()).unwrap();
        assert_eq!(secret.expose_secret(), " s3cret ");
    }

    #[test]
    fn unreadable_or_empty_files_are_errors_that_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = resolve(&RawSecret::File("nope".into()), dir.path()).unwrap_err();
        assert!(missing.message.contains("nope") && missing.message.contains("not found"), "{missing:?}");
        std::fs::write(dir.path().join("empty"), "\n").unwrap();
        let empty = resolve(&RawSecret::File("empty".into()), dir.path()).unwrap_err();
        assert!(empty.message.ends_with("is empty"), "{empty:?}");
    }

    #[test]
    fn unset_variables_are_errors_that_name_the_variable() {
        let e = resolve(&RawSecret::Env("TWOTRACK_TEST_NEVER_SET_4711".into()), Path::new(".")).unwrap_err();
        assert_eq!(e.message, "environment variable `TWOTRACK_TEST_NEVER_SET_4711` is not set");
    }
}
