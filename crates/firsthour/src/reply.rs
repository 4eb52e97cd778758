//! Tracked replies. Every notification's "Reply to …" button opens the
//! rep's own mail client on a reply to the lead, with a Bcc to a signed
//! address on the stack's inbound domain: `r+<lead id>.<mac>@<domain>`.
//! SES receives that copy and the inbound function counts it as the lead's
//! response, by the rep, when it was sent. The address is bound to the lead
//! and to the rep (the reply's From), so it cannot be reused for another
//! lead or by anyone else, and it stops counting `REPLY_WINDOW` after the
//! lead arrived. The lead never sees it: a Bcc is not in the sent message.

use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

use crate::claim::LinkKey;
use crate::lead::LeadId;

/// How long after a lead arrived a reply to it still counts.
pub const REPLY_WINDOW: Duration = Duration::days(30);

/// The local part's prefix.
const PREFIX: &str = "r+";

/// Why a received address does not count as a tracked reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("not a reply address of this stack")]
    NotOurs,
    #[error("a damaged reply address")]
    Malformed,
    #[error("the reply address does not match the lead or the sender")]
    BadSignature,
    #[error("the lead is older than the reply window")]
    Expired,
}

/// The tracked address for a reply to `lead` by `recipient` (the rep).
pub fn reply_address(key: &LinkKey, domain: &str, lead: &LeadId, recipient: &str) -> String {
    format!(
        "{PREFIX}{}.{}@{}",
        lead.as_str().to_ascii_lowercase(),
        hex::encode(key.reply_mac(lead, recipient)),
        domain.trim().to_ascii_lowercase()
    )
}

/// The lead a received `address` (an envelope recipient) is a tracked
/// reply to, when it is one of ours, its MAC holds for the reply's sender
/// `from`, and the lead is younger than [`REPLY_WINDOW`] at `now`.
pub fn read_reply_address(
    key: &LinkKey,
    domain: &str,
    address: &str,
    from: &str,
    now: OffsetDateTime,
) -> Result<LeadId, ReplyError> {
    let (local, host) = address.trim().rsplit_once('@').ok_or(ReplyError::NotOurs)?;
    if !host.eq_ignore_ascii_case(domain.trim()) {
        return Err(ReplyError::NotOurs);
    }
    let token = local
        .get(..PREFIX.len())
        .filter(|p| p.eq_ignore_ascii_case(PREFIX))
        .and_then(|_| local.get(PREFIX.len()..))
        .ok_or(ReplyError::NotOurs)?;
    let (id, mac) = token.split_once('.').ok_or(ReplyError::Malformed)?;
    let lead = LeadId::parse(id).ok_or(ReplyError::Malformed)?;
    let mac = hex::decode(mac).map_err(|_| ReplyError::Malformed)?;
    let expected = key.reply_mac(&lead, from);
    if mac.len() != expected.len() || !bool::from(mac.ct_eq(&expected)) {
        return Err(ReplyError::BadSignature);
    }
    let arrived = lead.created_at().ok_or(ReplyError::Malformed)?;
    if now - arrived > REPLY_WINDOW {
        return Err(ReplyError::Expired);
    }
    Ok(lead)
}

/// The reply button's `mailto:` link (RFC 6068): to the lead, Bcc the
/// tracked address when there is one, and the subject.
pub fn reply_mailto(to: &str, bcc: Option<&str>, subject: &str) -> String {
    let encode = |text: &str| -> String {
        // RFC 6068: percent-encode everything but unreserved characters.
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let mut url = format!("mailto:{}?subject={}", encode(to), encode(subject));
    if let Some(bcc) = bcc {
        url.push_str(&format!("&bcc={}", encode(bcc)));
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn key() -> LinkKey {
        LinkKey::new(b"0123456789abcdef0123456789abcdef").expect("long enough")
    }

    const DOMAIN: &str = "reply.example.com";

    #[test]
    fn a_reply_address_reads_back_for_its_rep_within_the_window() {
        let arrived = datetime!(2026-11-23 15:00 UTC);
        let lead = LeadId::new_at(arrived);
        let address = reply_address(&key(), DOMAIN, &lead, "Rep@Example.com");
        let local = address.split('@').next().unwrap_or_default();
        assert!(local.len() <= 64, "{address}");
        assert_eq!(local, local.to_ascii_lowercase(), "case cannot matter");
        let read =
            |address: &str, from: &str, now| read_reply_address(&key(), DOMAIN, address, from, now);
        let soon = arrived + Duration::minutes(3);
        assert_eq!(read(&address, "rep@example.com", soon), Ok(lead.clone()));
        // Mail systems may change the case of a whole address.
        assert_eq!(
            read(&address.to_ascii_uppercase(), "REP@example.com", soon),
            Ok(lead.clone())
        );
        assert_eq!(
            read(&address, "other@example.com", soon),
            Err(ReplyError::BadSignature)
        );
        assert_eq!(
            read(
                &address,
                "rep@example.com",
                arrived + REPLY_WINDOW + Duration::seconds(1)
            ),
            Err(ReplyError::Expired)
        );
        let other = LeadId::new_at(arrived + Duration::seconds(1));
        let swapped = address.replace(
            &lead.as_str().to_ascii_lowercase(),
            &other.as_str().to_ascii_lowercase(),
        );
        assert_eq!(
            read(&swapped, "rep@example.com", soon),
            Err(ReplyError::BadSignature)
        );
        for (address, why) in [
            ("rep@example.com", ReplyError::NotOurs),
            ("sales@reply.example.com", ReplyError::NotOurs),
            ("r+nonsense@reply.example.com", ReplyError::Malformed),
            (
                "r+01kaq5v3n6x5j0c9w4y2b7d8ef.zz@reply.example.com",
                ReplyError::Malformed,
            ),
            (
                "r+01kaq5v3n6x5j0c9w4y2b7d8ef.00@reply.example.com",
                ReplyError::BadSignature,
            ),
            ("no-at-sign", ReplyError::NotOurs),
            ("r+é@reply.example.com", ReplyError::Malformed),
        ] {
            assert_eq!(
                read(address, "rep@example.com", soon),
                Err(why),
                "{address}"
            );
        }
    }

    #[test]
    fn the_mailto_link_encodes_every_part() {
        let url = reply_mailto(
            "ann+x@army.mil",
            Some("r+a.b@reply.example.com"),
            "Re: Pricing & a demo?",
        );
        assert_eq!(
            url,
            "mailto:ann%2Bx@army.mil?subject=Re%3A%20Pricing%20%26%20a%20demo%3F&bcc=r%2Ba.b@reply.example.com"
        );
        assert_eq!(
            reply_mailto("a@b.c", None, "Re: x"),
            "mailto:a@b.c?subject=Re%3A%20x"
        );
    }
}
