//! Intake: from a webhook body to a normalised [`Lead`].

pub mod body;
pub mod fields;
pub mod limits;
pub mod multipart;
pub mod service;

use std::collections::HashMap;

use time::OffsetDateTime;

use crate::email::{EmailAddress, looks_like_email};
use crate::lead::{Contact, Lead, LeadId, RawField, RequestMeta, Source};
use body::{Submission, SubmittedField, parse_body};
use fields::{LeadField, recognise, recognise_loosely};
use limits::{
    MAX_FIELD_NAME_BYTES, MAX_FIELD_VALUE_BYTES, MAX_FIELDS, MAX_MESSAGE_BYTES,
    MAX_RAW_TOTAL_BYTES, MAX_SHORT_TEXT_BYTES, truncate_utf8,
};

/// Why a submission was not accepted. Every variant is the sender's fault and
/// maps to a 4xx at the HTTP edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    #[error("the body is {size} bytes; the limit is {limit} bytes")]
    PayloadTooLarge { size: usize, limit: usize },
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("{field}: {problem}")]
    Unprocessable {
        field: &'static str,
        problem: String,
    },
}

/// Per-source mapping of submitted field names to lead fields, for forms
/// whose names say nothing (Gravity Forms ids like `1.3`, Salesforce `00N…`).
pub type FieldMapping = HashMap<String, LeadField>;

/// A normalised submission: the lead, plus what the edge needs to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalised {
    pub lead: Lead,
    /// The thank-you page the form asked for, not yet checked against the allow-list.
    pub redirect_url: Option<String>,
    /// Problems that did not stop the lead (e.g. a broken email beside a good phone).
    pub warnings: Vec<String>,
}

/// Everything [`normalise`] needs besides the body.
#[derive(Debug, Clone, Copy)]
pub struct IntakeContext<'a> {
    pub source: &'a Source,
    pub meta: &'a RequestMeta,
    pub mapping: Option<&'a FieldMapping>,
    pub max_body_bytes: usize,
    pub received_at: OffsetDateTime,
}

/// Parses, recognises and validates one submission.
pub async fn normalise(
    body: &[u8],
    content_type: Option<&str>,
    context: IntakeContext<'_>,
) -> Result<Normalised, IntakeError> {
    if body.len() > context.max_body_bytes {
        return Err(IntakeError::PayloadTooLarge {
            size: body.len(),
            limit: context.max_body_bytes,
        });
    }
    let submission = parse_body(body, content_type).await?;
    build_lead(submission, context)
}

/// The recognised value of each lead field, first non-empty one wins
/// (a slot per [`LeadField`], indexed by its position in [`LeadField::ALL`]).
#[derive(Default)]
struct Recognised {
    values: [Option<String>; LeadField::ALL.len()],
}

impl Recognised {
    fn offer(&mut self, field: LeadField, value: &str) {
        let value = value.trim();
        if !value.is_empty() && field != LeadField::Ignore {
            self.values[field as usize].get_or_insert_with(|| value.to_owned());
        }
    }

    fn has(&self, field: LeadField) -> bool {
        self.values[field as usize].is_some()
    }

    fn get(&self, field: LeadField) -> Option<&str> {
        self.values[field as usize].as_deref()
    }

    fn take(&mut self, field: LeadField) -> Option<String> {
        self.values[field as usize].take()
    }
}

fn build_lead(
    submission: Submission,
    context: IntakeContext<'_>,
) -> Result<Normalised, IntakeError> {
    let mut recognised = Recognised::default();
    let mut unmatched: Vec<&SubmittedField> = Vec::new();
    for field in &submission.fields {
        let mapped = context.mapping.and_then(|mapping| {
            mapping.get(&field.name).copied().or_else(|| {
                mapping
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(&field.name))
                    .map(|(_, target)| *target)
            })
        });
        match mapped.or_else(|| recognise(field)) {
            Some(target) => recognised.offer(target, &field.value),
            None => unmatched.push(field),
        }
    }
    // Loose matching can only fill what is still empty: skip it (a substring
    // search per field and hint) when nothing it could fill is missing.
    let loosely_fillable = fields::label_hint_fields().any(|target| !recognised.has(target));
    for field in unmatched.iter().filter(|_| loosely_fillable) {
        if let Some(target) = recognise_loosely(field)
            && !recognised.has(target)
            && value_fits(target, &field.value)
        {
            recognised.offer(target, &field.value);
        }
    }
    if !recognised.has(LeadField::Email)
        && let Some(field) = unmatched.iter().find(|f| looks_like_email(&f.value))
    {
        recognised.offer(LeadField::Email, &field.value);
    }

    let mut warnings = Vec::new();
    let raw_email = recognised.take(LeadField::Email);
    let raw_phone = recognised.take(LeadField::Phone);
    let email = raw_email.as_deref().map(EmailAddress::parse);
    let phone = raw_phone.as_deref().map(clean_phone);
    let (email, phone) = match (email, phone) {
        (None, None) => {
            return Err(IntakeError::Unprocessable {
                field: "email",
                problem: "a lead needs a way to reach the person: send an email address or a phone number".into(),
            });
        }
        (Some(Err(email_problem)), None | Some(Err(_))) => {
            return Err(IntakeError::Unprocessable {
                field: "email",
                problem: email_problem.to_string(),
            });
        }
        (None, Some(Err(phone_problem))) => {
            return Err(IntakeError::Unprocessable {
                field: "phone",
                problem: phone_problem,
            });
        }
        (email, phone) => {
            let email = email.and_then(|result| {
                result
                    .map_err(|problem| warnings.push(format!("email ignored: {problem}")))
                    .ok()
            });
            let phone = phone.and_then(|result| {
                result
                    .map_err(|problem| warnings.push(format!("phone ignored: {problem}")))
                    .ok()
            });
            (email, phone)
        }
    };

    let mut truncated = false;
    let message = recognised.take(LeadField::Message).map(|mut text| {
        // Keep line breaks and tabs in a message; drop other control characters.
        text.retain(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'));
        truncated |= truncate_utf8(&mut text, MAX_MESSAGE_BYTES);
        text
    });
    let mut short = |field: LeadField, recognised: &mut Recognised| {
        recognised
            .take(field)
            .map(|mut text| {
                // A line break in a name must not glue words together, nor
                // survive; invisible and direction-changing characters go.
                text = crate::notify::header_safe_unbounded(&text);
                truncated |= truncate_utf8(&mut text, MAX_SHORT_TEXT_BYTES);
                text
            })
            // Nothing visible left: absent, not an empty string.
            .filter(|text| !text.is_empty())
    };
    let first_name = short(LeadField::FirstName, &mut recognised);
    let last_name = short(LeadField::LastName, &mut recognised);
    let full_name = short(LeadField::FullName, &mut recognised).or_else(|| {
        let joined = [first_name.as_deref(), last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        (!joined.is_empty()).then_some(joined)
    });
    let org_type_field = submission
        .fields
        .iter()
        .find(|f| {
            recognised
                .get(LeadField::OrganizationType)
                .is_some_and(|v| v == f.value.trim())
        })
        .map(|f| {
            // Shown in the email as the evidence's name: one line, bounded.
            let mut name =
                crate::notify::header_safe_unbounded(f.labels.first().unwrap_or(&f.name));
            truncate_utf8(&mut name, MAX_FIELD_NAME_BYTES);
            name
        });
    let org_type = short(LeadField::OrganizationType, &mut recognised).map(|value| {
        (
            org_type_field.unwrap_or_else(|| LeadField::OrganizationType.name().to_owned()),
            value,
        )
    });
    let contact = Contact {
        email,
        phone,
        first_name,
        last_name,
        full_name,
        company: short(LeadField::Company, &mut recognised),
        job_title: short(LeadField::JobTitle, &mut recognised),
        page_url: short(LeadField::PageUrl, &mut recognised),
        referrer: short(LeadField::Referrer, &mut recognised),
        utm: crate::lead::Utm {
            source: short(LeadField::UtmSource, &mut recognised),
            medium: short(LeadField::UtmMedium, &mut recognised),
            campaign: short(LeadField::UtmCampaign, &mut recognised),
            term: short(LeadField::UtmTerm, &mut recognised),
            content: short(LeadField::UtmContent, &mut recognised),
        },
        message,
        org_type,
    };
    let redirect_url = short(LeadField::RedirectUrl, &mut recognised);
    let (fields, raw_truncated) = bounded_raw_fields(submission.fields);

    let lead = Lead {
        id: LeadId::new_at(context.received_at),
        received_at: context.received_at,
        source: context.source.clone(),
        contact,
        client_ip: context.meta.client_ip.clone(),
        user_agent: context.meta.user_agent.clone().map(|mut ua| {
            truncate_utf8(&mut ua, MAX_SHORT_TEXT_BYTES);
            ua
        }),
        delivery_id: context.meta.delivery_id.clone().or(submission.delivery_id),
        fields,
        fields_truncated: truncated || raw_truncated,
        ignored_files: submission
            .ignored_files
            .into_iter()
            .take(MAX_FIELDS)
            .collect(),
    };
    Ok(Normalised {
        lead,
        redirect_url,
        warnings,
    })
}

/// Whether a loosely matched value plausibly is what its label says.
fn value_fits(target: LeadField, value: &str) -> bool {
    match target {
        LeadField::Email => looks_like_email(value),
        LeadField::Phone => clean_phone(value).is_ok(),
        _ => !value.contains('@') && value.len() <= MAX_SHORT_TEXT_BYTES,
    }
}

/// A phone number as typed, checked to be one: 6 to 20 digits, and only the
/// punctuation people use in numbers (`+`, spaces, `-`, `.`, `()`, `/`, `ext`).
pub fn clean_phone(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    let trimmed = trimmed.strip_prefix("tel:").unwrap_or(trimmed).trim();
    let digits = trimmed.chars().filter(char::is_ascii_digit).count();
    let lower = trimmed.to_ascii_lowercase();
    let without_extension = lower
        .split_once("ext")
        .or_else(|| lower.split_once('x'))
        .map_or(lower.as_str(), |(number, _)| number);
    let allowed = without_extension
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')' | '/'));
    if !allowed {
        return Err("phone has characters that are not part of a phone number".into());
    }
    if !(6..=20).contains(&digits) {
        return Err("phone must have 6 to 20 digits".into());
    }
    Ok(trimmed.to_owned())
}

/// The submitted fields as stored: at most [`MAX_FIELDS`] of them, each name
/// and value cut to its bound, and all of them within [`MAX_RAW_TOTAL_BYTES`].
fn bounded_raw_fields(submitted: Vec<SubmittedField>) -> (Vec<RawField>, bool) {
    let mut truncated = submitted.len() > MAX_FIELDS;
    let mut total = 0usize;
    let mut out = Vec::with_capacity(submitted.len().min(MAX_FIELDS));
    for field in submitted.into_iter().take(MAX_FIELDS) {
        let mut name = field.name;
        let mut value = field.value;
        truncated |= truncate_utf8(&mut name, MAX_FIELD_NAME_BYTES);
        truncated |= truncate_utf8(&mut value, MAX_FIELD_VALUE_BYTES);
        let remaining = MAX_RAW_TOTAL_BYTES.saturating_sub(total + name.len());
        truncated |= truncate_utf8(&mut value, remaining);
        total += name.len() + value.len();
        let mut raw = RawField::new(name, value);
        raw.label = field.labels.into_iter().next().map(|mut label| {
            truncate_utf8(&mut label, MAX_FIELD_NAME_BYTES);
            label
        });
        out.push(raw);
        if total >= MAX_RAW_TOTAL_BYTES {
            truncated = true;
            break;
        }
    }
    (out, truncated)
}

#[cfg(test)]
mod tests;
