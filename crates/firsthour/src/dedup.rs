//! Deduplication markers: a delivery id, or the content of a submission,
//! claimed in the same transaction as the lead it first made.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::lead::{Lead, LeadId, Source, format_utc_millis};
use crate::spam::SpamConfig;

/// What a deduplication marker guards against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DedupKind {
    /// The sender's delivery id (`webhook-id`, `Idempotency-Key`, vendor event id).
    Delivery,
    /// The same normalised content from the same source within the window.
    Content,
}

/// A marker claimed in the same write as the lead: whoever claims it first
/// owns the lead; later deliveries find the original id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DedupMarker {
    pub kind: DedupKind,
    /// The delivery or content key ([`delivery_key`], [`content_key`]).
    pub key: String,
    pub lead_id: LeadId,
    /// SHA-256 of the request body: the same delivery id with another body is a conflict.
    pub body_sha256: String,
    /// RFC 3339 UTC with milliseconds: when the lead arrived.
    pub created_at: String,
    /// Epoch seconds; the marker no longer counts after this (and TTL deletes it).
    pub expires_at: i64,
}

impl DedupMarker {
    pub fn new(
        kind: DedupKind,
        key: &str,
        lead: &Lead,
        body_sha256: &str,
        ttl: std::time::Duration,
    ) -> Self {
        let expires = lead.received_at + ttl;
        Self {
            kind,
            key: key.to_owned(),
            lead_id: lead.id.clone(),
            body_sha256: body_sha256.to_owned(),
            created_at: format_utc_millis(lead.received_at),
            expires_at: expires.unix_timestamp(),
        }
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// How long a lead can be found by its person's address (`POST /touches`):
/// the longest touch window, plus a day.
pub const CONTACT_MARKER_DAYS: i64 = 91;

/// The key a lead is found under by its person's address: a hash of the
/// address, trimmed and lowercased, so no address is ever in a key.
pub fn contact_key(email: &str) -> String {
    sha256_hex(email.trim().to_ascii_lowercase().as_bytes())
}

/// Key of a delivery-id marker: hashed, so any id a sender picks (long,
/// odd characters) becomes a fixed-size key.
pub fn delivery_key(source: &Source, delivery_id: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"delivery\0");
    hasher.update(source.as_str());
    hasher.update(b"\0");
    hasher.update(delivery_id);
    format!("delivery#{}", hex::encode(hasher.finalize()))
}

/// Fields whose values change between two submits of the same answers, so
/// the content fingerprint leaves them out (besides the config's
/// `spam.rendered_at_field`): captcha answers (reCAPTCHA, hCaptcha,
/// Turnstile, Friendly Captcha, Contact Form 7's reCAPTCHA), CSRF tokens
/// (Laravel, Django, Rails, ASP.NET, Express, WordPress nonces) and Gravity
/// Forms' per-render id. Compared without regard to case.
pub const VOLATILE_FIELDS: [&str; 16] = [
    "g-recaptcha-response",
    "h-captcha-response",
    "cf-turnstile-response",
    "frc-captcha-solution",
    "_wpcf7_recaptcha_response",
    "_token",
    "_csrf",
    "_csrf_token",
    "csrf_token",
    "csrfmiddlewaretoken",
    "authenticity_token",
    "__RequestVerificationToken",
    "_wpnonce",
    "nonce",
    "_nonce",
    "gform_unique_id",
];

/// Whether a submitted field is a volatile control field (see [`VOLATILE_FIELDS`]).
pub fn is_volatile(name: &str, spam: &SpamConfig) -> bool {
    name.eq_ignore_ascii_case(&spam.rendered_at_field)
        || VOLATILE_FIELDS.iter().any(|v| name.eq_ignore_ascii_case(v))
}

/// Key of a content marker: the source, the normalised contact details and
/// every submitted field (name and value) except volatile control fields,
/// so only a true resubmission is a duplicate: the same person sending
/// other answers within the window makes a new lead.
///
/// The fields are taken as a set, not in arrival order: the same answers in
/// another order (a vendor's retry serialising its JSON anew, a form whose
/// fields were rearranged) carry nothing new, so treating them as the same
/// submission loses nothing, while order-sensitivity would make two leads
/// (two notifications, two reps) of one.
pub fn content_key(lead: &Lead, spam: &SpamConfig) -> String {
    // Length-prefixed parts: no two different submissions hash the same input.
    fn part(hasher: &mut Sha256, text: &str) {
        hasher.update((text.len() as u64).to_le_bytes());
        hasher.update(text);
    }
    let c = &lead.contact;
    let mut hasher = Sha256::new();
    hasher.update(b"content\0v2\0");
    part(&mut hasher, lead.source.as_str());
    let email = c.email.as_ref().map(|e| e.as_str().to_lowercase());
    for value in [
        email.as_deref(),
        c.phone.as_deref(),
        c.first_name.as_deref(),
        c.last_name.as_deref(),
        c.full_name.as_deref(),
        c.company.as_deref(),
        c.job_title.as_deref(),
        c.message.as_deref(),
    ] {
        part(&mut hasher, value.unwrap_or_default());
    }
    let mut answers: Vec<(&str, &str)> = lead
        .fields
        .iter()
        .filter(|f| !is_volatile(&f.name, spam))
        .map(|f| (f.name.as_str(), f.value.as_str()))
        .collect();
    answers.sort_unstable();
    hasher.update((answers.len() as u64).to_le_bytes());
    for (name, value) in answers {
        part(&mut hasher, name);
        part(&mut hasher, value);
    }
    let mut files: Vec<&str> = lead.ignored_files.iter().map(String::as_str).collect();
    files.sort_unstable();
    hasher.update((files.len() as u64).to_le_bytes());
    for file in files {
        part(&mut hasher, file);
    }
    format!("content#{}", hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::email::EmailAddress;
    use crate::lead::{Contact, RawField};
    use time::macros::datetime;

    fn lead(email: &str, message: &str) -> Lead {
        let at = datetime!(2026-11-22 14:00 UTC);
        Lead {
            id: LeadId::new_at(at),
            received_at: at,
            source: Source::parse("web").expect("valid"),
            contact: Contact {
                email: EmailAddress::parse(email).ok(),
                message: Some(message.into()),
                ..Contact::default()
            },
            client_ip: None,
            user_agent: None,
            delivery_id: None,
            fields: vec![RawField::new("submitted_at", "14:00:01")],
            truncated: vec![],
            ignored_files: vec![],
            guessed: vec![],
        }
    }

    fn with_fields(pairs: &[(&str, &str)]) -> Lead {
        let mut l = lead("jane@example.com", "hi");
        l.fields = pairs.iter().map(|(n, v)| RawField::new(*n, *v)).collect();
        l
    }

    #[test]
    fn content_key_covers_every_answer_but_not_volatile_control_fields() {
        let spam = SpamConfig::default();
        let key = |pairs: &[(&str, &str)]| content_key(&with_fields(pairs), &spam);
        let first = key(&[
            ("email", "jane@example.com"),
            ("organization_type", "Federal agency"),
            ("_rendered_at", "1795379755226"),
            ("g-recaptcha-response", "03AFcWeA-one"),
            ("csrfmiddlewaretoken", "abc"),
        ]);
        // Another answer: a new lead.
        assert_ne!(
            first,
            key(&[
                ("email", "jane@example.com"),
                ("organization_type", "State government"),
                ("_rendered_at", "1795379755226"),
                ("g-recaptcha-response", "03AFcWeA-one"),
                ("csrfmiddlewaretoken", "abc"),
            ])
        );
        // The same answers with fresh control fields, in another order: the same submission.
        assert_eq!(
            first,
            key(&[
                ("CSRFMiddlewareToken", "xyz"),
                ("_rendered_at", "1795379799999"),
                ("organization_type", "Federal agency"),
                ("g-recaptcha-response", "03AFcWeA-two"),
                ("email", "jane@example.com"),
            ])
        );
        // An answer added or removed is new.
        assert_ne!(
            first,
            key(&[
                ("email", "jane@example.com"),
                ("organization_type", "Federal agency"),
                ("product", "Analytics"),
            ])
        );
        // Repeated names (multi-select) count each value.
        assert_ne!(
            key(&[("product", "A"), ("product", "B")]),
            key(&[("product", "A"), ("product", "A")])
        );
        assert_eq!(
            key(&[("product", "A"), ("product", "B")]),
            key(&[("product", "B"), ("product", "A")])
        );
        // No two splits of the same text hash alike.
        assert_ne!(key(&[("ab", "c")]), key(&[("a", "bc")]));
    }

    #[test]
    fn content_key_follows_the_configured_render_time_field() {
        let spam = SpamConfig {
            rendered_at_field: "form_loaded".into(),
            ..SpamConfig::default()
        };
        let a = with_fields(&[("email", "jane@example.com"), ("form_loaded", "1")]);
        let b = with_fields(&[("email", "jane@example.com"), ("form_loaded", "2")]);
        assert_eq!(content_key(&a, &spam), content_key(&b, &spam));
        assert_ne!(
            content_key(&a, &SpamConfig::default()),
            content_key(&b, &SpamConfig::default())
        );
        // The contact still counts, email case aside.
        let upper = lead("Jane@Example.com", "hi");
        let lower = lead("jane@example.com", "hi");
        assert_eq!(content_key(&upper, &spam), content_key(&lower, &spam));
        assert_ne!(
            content_key(&lower, &spam),
            content_key(&lead("jane@example.com", "hello"), &spam)
        );
    }

    #[test]
    fn delivery_keys_are_scoped_by_source_and_fixed_size() {
        let web = Source::parse("web").expect("valid");
        let other = Source::parse("typeform").expect("valid");
        assert_ne!(delivery_key(&web, "abc"), delivery_key(&other, "abc"));
        assert_eq!(
            delivery_key(&web, &"x".repeat(5000)).len(),
            delivery_key(&web, "y").len()
        );
    }
}
