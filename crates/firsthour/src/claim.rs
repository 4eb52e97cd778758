//! One-click claim links: HMAC-SHA256 signed, expiring, bound to one lead
//! and one recipient, so a forwarded link still names who was asked.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::OffsetDateTime;

use crate::lead::LeadId;

type HmacSha256 = Hmac<Sha256>;

/// The link-signing key (from a secret, at cold start). At least 32 bytes.
#[derive(Clone)]
pub struct LinkKey(Vec<u8>);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(…)")
    }
}

impl LinkKey {
    pub const MIN_LEN: usize = 32;

    pub fn new(secret: &[u8]) -> Result<Self, String> {
        if secret.len() < Self::MIN_LEN {
            return Err(format!(
                "the link-signing key must be at least {} bytes",
                Self::MIN_LEN
            ));
        }
        Ok(Self(secret.to_vec()))
    }

    /// The MAC of one link: what it does (`claim`, `away`), what it is
    /// about (a lead id; empty for a rep's own link), who it was sent to,
    /// and until when. The purpose keeps one kind of link from passing
    /// for another.
    fn mac(&self, purpose: &str, subject: &str, recipient: &str, expires: i64) -> HmacSha256 {
        // new_from_slice accepts any key length for HMAC.
        let mut mac = HmacSha256::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        for part in [
            purpose,
            subject,
            &recipient.to_ascii_lowercase(),
            &expires.to_string(),
        ] {
            mac.update(part.as_bytes());
            mac.update(b"\0");
        }
        mac
    }

    fn sign_link(
        &self,
        purpose: &str,
        subject: &str,
        recipient: &str,
        expires: OffsetDateTime,
    ) -> String {
        let expires = expires.unix_timestamp();
        let signature = URL_SAFE_NO_PAD.encode(
            self.mac(purpose, subject, recipient, expires)
                .finalize()
                .into_bytes(),
        );
        format!(
            "r={}&e={expires}&s={signature}",
            url::form_urlencoded::byte_serialize(recipient.as_bytes()).collect::<String>()
        )
    }

    fn verify_link(
        &self,
        purpose: &str,
        subject: &str,
        recipient: &str,
        expires: &str,
        signature: &str,
        now: OffsetDateTime,
    ) -> Result<(), ClaimLinkError> {
        let expires: i64 = expires.parse().map_err(|_| ClaimLinkError::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| ClaimLinkError::Malformed)?;
        self.mac(purpose, subject, recipient, expires)
            .verify_slice(&signature)
            .map_err(|_| ClaimLinkError::BadSignature)?;
        if now.unix_timestamp() > expires {
            return Err(ClaimLinkError::Expired);
        }
        Ok(())
    }

    /// The query string of a claim link: `r=…&e=…&s=…`.
    pub fn sign(&self, lead: &LeadId, recipient: &str, expires: OffsetDateTime) -> String {
        self.sign_link("claim", lead.as_str(), recipient, expires)
    }

    /// Checks a claim link's parameters (constant-time comparison).
    pub fn verify(
        &self,
        lead: &LeadId,
        recipient: &str,
        expires: &str,
        signature: &str,
        now: OffsetDateTime,
    ) -> Result<(), ClaimLinkError> {
        self.verify_link("claim", lead.as_str(), recipient, expires, signature, now)
    }

    /// The first 10 bytes of a reply address's MAC, bound to the lead and
    /// the rep it was sent to (no expiry in it: the lead's age bounds it).
    pub(crate) fn reply_mac(&self, lead: &LeadId, recipient: &str) -> [u8; 10] {
        let full = self
            .mac("reply", lead.as_str(), recipient, 0)
            .finalize()
            .into_bytes();
        let mut short = [0u8; 10];
        short.copy_from_slice(&full[..10]);
        short
    }

    /// The query string of a rep's "I'm away" link.
    pub fn sign_away(&self, rep: &str, expires: OffsetDateTime) -> String {
        self.sign_link("away", "", rep, expires)
    }

    /// Checks an "I'm away" link's parameters.
    pub fn verify_away(
        &self,
        rep: &str,
        expires: &str,
        signature: &str,
        now: OffsetDateTime,
    ) -> Result<(), ClaimLinkError> {
        self.verify_link("away", "", rep, expires, signature, now)
    }
}

/// Why a claim link was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClaimLinkError {
    #[error("this claim link is incomplete or damaged")]
    Malformed,
    #[error("this claim link is not valid (it may have been altered)")]
    BadSignature,
    #[error("this claim link has expired")]
    Expired,
}

/// Whether the lead's owner (`by`) is the link's recipient: addresses
/// compare without case, as the link's signature does.
pub fn is_holder(by: Option<&str>, recipient: &str) -> bool {
    by.is_some_and(|by| by.eq_ignore_ascii_case(recipient))
}

/// A rep's "I'm away, give my new leads to someone else" URL.
pub fn away_url(base: &str, key: &LinkKey, rep: &str, expires: OffsetDateTime) -> String {
    format!(
        "{}/reps/away?{}",
        base.trim_end_matches('/'),
        key.sign_away(rep, expires)
    )
}

/// The full claim URL for a recipient.
pub fn claim_url(
    base: &str,
    key: &LinkKey,
    lead: &LeadId,
    recipient: &str,
    expires: OffsetDateTime,
) -> String {
    format!(
        "{}/leads/{lead}/claim?{}",
        base.trim_end_matches('/'),
        key.sign(lead, recipient, expires)
    )
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn key() -> LinkKey {
        LinkKey::new(b"0123456789abcdef0123456789abcdef").expect("long enough")
    }

    fn parts(query: &str) -> (String, String, String) {
        let pairs: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
        (pairs["r"].clone(), pairs["e"].clone(), pairs["s"].clone())
    }

    #[test]
    fn signed_links_verify_until_they_expire() {
        let lead = LeadId::new_at(datetime!(2026-11-22 14:00 UTC));
        let query = key().sign(&lead, "Rep+1@Example.com", datetime!(2026-11-29 14:00 UTC));
        let (r, e, s) = parts(&query);
        assert_eq!(r, "Rep+1@Example.com");
        assert_eq!(
            key().verify(&lead, &r, &e, &s, datetime!(2026-11-22 15:00 UTC)),
            Ok(())
        );
        assert_eq!(
            key().verify(&lead, &r, &e, &s, datetime!(2026-11-30 00:00 UTC)),
            Err(ClaimLinkError::Expired)
        );
    }

    #[test]
    fn tampering_is_detected() {
        let lead = LeadId::new_at(datetime!(2026-11-22 14:00 UTC));
        let other = LeadId::new_at(datetime!(2026-11-22 14:01 UTC));
        let (r, e, s) =
            parts(&key().sign(&lead, "rep@example.com", datetime!(2026-11-29 14:00 UTC)));
        let now = datetime!(2026-11-22 15:00 UTC);
        assert_eq!(
            key().verify(&other, &r, &e, &s, now),
            Err(ClaimLinkError::BadSignature)
        );
        assert_eq!(
            key().verify(&lead, "boss@example.com", &e, &s, now),
            Err(ClaimLinkError::BadSignature)
        );
        assert_eq!(
            key().verify(&lead, &r, "99999999999", &s, now),
            Err(ClaimLinkError::BadSignature)
        );
        assert_eq!(
            key().verify(&lead, &r, "soon", &s, now),
            Err(ClaimLinkError::Malformed)
        );
        assert_eq!(
            key().verify(&lead, &r, &e, "%%%", now),
            Err(ClaimLinkError::Malformed)
        );
        // An "I'm away" link's signature is no claim link's, and back.
        let (ar, ae, as_) =
            parts(&key().sign_away("rep@example.com", datetime!(2026-11-29 14:00 UTC)));
        assert_eq!(key().verify_away(&ar, &ae, &as_, now), Ok(()));
        assert_eq!(
            key().verify(&lead, &ar, &ae, &as_, now),
            Err(ClaimLinkError::BadSignature)
        );
        assert_eq!(
            key().verify_away(&r, &e, &s, now),
            Err(ClaimLinkError::BadSignature)
        );
        let other_key = LinkKey::new(&[7u8; 32]).expect("key");
        assert_eq!(
            other_key.verify(&lead, &r, &e, &s, now),
            Err(ClaimLinkError::BadSignature)
        );
        assert!(LinkKey::new(b"short").is_err());
    }
}
