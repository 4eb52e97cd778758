//! Email addresses as leads give them: syntax-checked, domain lower-cased.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A syntactically valid address with a lower-cased domain. The local part
/// keeps its case: RFC 5321 lets servers treat it as case-sensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress {
    address: String,
    at: usize,
}

/// Why an address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidEmail {
    #[error("email is empty")]
    Empty,
    #[error("email is longer than 254 characters")]
    TooLong,
    #[error("email is not a valid address ({0})")]
    Syntax(String),
}

impl EmailAddress {
    /// RFC 5321's limit on a forward path, less the angle brackets.
    pub const MAX_LEN: usize = 254;

    /// Accepts what people type: surrounding spaces, a `mailto:` prefix, a
    /// trailing dot on the domain, and upper case in the domain are all fine.
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        let trimmed = raw.trim();
        let trimmed = trimmed
            .strip_prefix("mailto:")
            .or_else(|| trimmed.strip_prefix("MAILTO:"))
            .unwrap_or(trimmed)
            .trim();
        if trimmed.is_empty() {
            return Err(InvalidEmail::Empty);
        }
        if trimmed.len() > Self::MAX_LEN {
            return Err(InvalidEmail::TooLong);
        }
        // Control characters would let an address smuggle headers into mail.
        if trimmed.chars().any(char::is_control) {
            return Err(InvalidEmail::Syntax("contains control characters".into()));
        }
        // Invisible or direction-changing characters make an address read
        // as another one (`\u{202E}lim.yvan@x.co`).
        if trimmed.chars().any(crate::text::is_invisible) {
            return Err(InvalidEmail::Syntax(
                "contains invisible or direction-changing characters".into(),
            ));
        }
        let options = email_address::Options::default()
            .with_required_tld()
            .without_display_text()
            .without_domain_literal();
        let (local, domain) = trimmed
            .rsplit_once('@')
            .ok_or_else(|| InvalidEmail::Syntax("missing '@'".into()))?;
        let domain = domain.strip_suffix('.').unwrap_or(domain).to_lowercase();
        let candidate = format!("{local}@{domain}");
        email_address::EmailAddress::parse_with_options(&candidate, options)
            .map_err(|err| InvalidEmail::Syntax(err.to_string()))?;
        Ok(Self {
            at: local.len(),
            address: candidate,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.address
    }

    pub fn local_part(&self) -> &str {
        &self.address[..self.at]
    }

    /// The lower-cased domain, without a trailing dot.
    pub fn domain(&self) -> &str {
        &self.address[self.at + 1..]
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = InvalidEmail;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.address
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address)
    }
}

/// Whether a text looks like nothing but an email address (used to find the
/// address in forms whose field names say nothing, e.g. Gravity Forms ids).
pub fn looks_like_email(text: &str) -> bool {
    let text = text.trim();
    text.contains('@') && !text.contains(char::is_whitespace) && EmailAddress::parse(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_is_lowercased_local_part_kept() {
        let email = EmailAddress::parse("  Jane.Doe@Example.GOV. ").expect("valid");
        assert_eq!(email.as_str(), "Jane.Doe@example.gov");
        assert_eq!(email.local_part(), "Jane.Doe");
        assert_eq!(email.domain(), "example.gov");
    }

    #[test]
    fn accepts_common_real_addresses() {
        for ok in [
            "a@b.co",
            "first.last+tag@sub.agency.gov",
            "o'brien@example.ie",
            "mailto:sales@example.com",
            "用户@例子.广告",
            "x@mail.mil",
        ] {
            assert!(EmailAddress::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_broken_and_hostile_addresses() {
        for bad in [
            "",
            "   ",
            "plainaddress",
            "@example.com",
            "jane@",
            "jane@localhost",
            "jane@@example.com",
            "Jane <jane@example.com>",
            "jane@[127.0.0.1]",
            "jane@example.com\r\nBcc: victim@example.com",
            "jane doe@example.com",
            "\u{202E}lim.yvan@example.com",
            "jane\u{200B}@example.com",
            "jane@exa\u{2066}mple.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(EmailAddress::parse(&long), Err(InvalidEmail::TooLong));
    }

    #[test]
    fn serde_round_trip_validates() {
        let email: EmailAddress = serde_json::from_str("\"A@B.COM\"").expect("valid");
        assert_eq!(email.as_str(), "A@b.com");
        assert!(serde_json::from_str::<EmailAddress>("\"nope\"").is_err());
    }
}
