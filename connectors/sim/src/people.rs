//! The people of the simulated site: one e-mail address per person, the same in both simulators, so that
//! an item moved from one tracker to the other finds its reporter there.

/// The e-mail address of the person with this display name (or user name): the name itself when it is
/// an address, else its lower-case words joined by dots at `example.com` ("Ann Lee" ->
/// `ann.lee@example.com`), as the ServiceNow simulator's `sys_user` rows have it.
pub fn email_of(name: &str) -> String {
    let name = name.trim();
    if name.contains('@') {
        return name.to_ascii_lowercase();
    }
    let user_name = name.split_whitespace().map(str::to_lowercase).collect::<Vec<_>>().join(".");
    format!("{user_name}@example.com")
}

#[cfg(test)]
mod tests {
    use super::email_of;

    #[test]
    fn an_address_is_derived_from_the_name() {
        assert_eq!(email_of(" Ann  Lee "), "ann.lee@example.com");
        assert_eq!(email_of("Bo@Example.com"), "bo@example.com");
        assert_eq!(email_of("jdoe"), "jdoe@example.com");
    }
}
