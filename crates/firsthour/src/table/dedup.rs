//! Deduplication markers: a delivery id, or the content of a submission,
//! claimed in the same transaction as the lead it first made.

use super::*;

/// What a deduplication marker guards against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DedupKind {
    /// The sender's delivery id (`webhook-id`, `Idempotency-Key`, vendor event id).
    Delivery,
    /// The same normalised content from the same source within the window.
    Content,
}

/// A marker item claimed in the same transaction as the lead: whoever
/// claims it first owns the lead; later deliveries find the original id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DedupItem {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub kind: DedupKind,
    pub lead_id: LeadId,
    /// SHA-256 of the request body: the same delivery id with another body is a conflict.
    pub body_sha256: String,
    pub created_at: String,
    /// Epoch seconds; the marker no longer counts after this (and TTL deletes it).
    pub expires_at: i64,
}

impl DedupItem {
    pub fn new(
        kind: DedupKind,
        key: &str,
        lead: &Lead,
        body_sha256: &str,
        ttl: std::time::Duration,
    ) -> Self {
        let expires = lead.received_at + ttl;
        Self {
            pk: dedup_pk(key),
            sk: DEDUP_SK.to_owned(),
            entity: "dedup".to_owned(),
            kind,
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
