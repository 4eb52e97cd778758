//! Intake: from a webhook body to a normalised [`Lead`].

pub mod body;
mod entries;
pub mod fields;
pub mod limits;
pub mod multipart;
mod vendors;

use std::collections::HashMap;

use time::OffsetDateTime;

use crate::email::{EmailAddress, looks_like_email};
use crate::lead::{Contact, Lead, LeadId, RawField, RequestMeta, Source, note_truncated};
use crate::text::truncate_utf8;
use body::{Submission, SubmittedField, parse_body};
use fields::{EmailNaming, LeadField, recognise, recognise_loosely};
use limits::{
    MAX_FIELD_NAME_BYTES, MAX_FIELD_VALUE_BYTES, MAX_FIELDS, MAX_FILE_NAME_BYTES,
    MAX_IGNORED_FILES, MAX_MESSAGE_BYTES, MAX_PHONE_EXTENSION_DIGITS, MAX_PHONE_NUMBER_BYTES,
    MAX_RAW_TOTAL_BYTES, MAX_SHORT_TEXT_BYTES,
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
    /// The person booked a meeting: the intake records it as a touch.
    pub meeting: Option<body::BookedMeeting>,
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
pub fn normalise(
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
    let submission = parse_body(body, content_type)?;
    build_lead(submission, context)
}

/// The recognised value of each lead field, first non-empty one wins
/// (a slot per [`LeadField`], indexed by its position in [`LeadField::ALL`]).
#[derive(Default)]
struct Recognised {
    values: [Option<String>; LeadField::ALL.len()],
    /// What was taken by its value alone, not by a name or label.
    guessed: Vec<String>,
}

impl Recognised {
    fn offer(&mut self, field: LeadField, value: &str) {
        let value = value.trim();
        if !value.is_empty() && field != LeadField::Ignore {
            self.values[field as usize].get_or_insert_with(|| value.to_owned());
        }
    }

    /// A later value for a slot already filled, which outranks the first.
    fn replace(&mut self, field: LeadField, value: &str) {
        self.values[field as usize] = Some(value.trim().to_owned());
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

/// Cuts values to their bounds and remembers which stored attributes it cut.
#[derive(Default)]
struct Bounds {
    truncated: Vec<String>,
}

impl Bounds {
    fn note(&mut self, attribute: &str) {
        if !attribute.is_empty() {
            note_truncated(&mut self.truncated, attribute);
        }
    }

    fn cut(&mut self, text: &mut String, max: usize, attribute: &str) {
        if truncate_utf8(text, max) {
            self.note(attribute);
        }
    }

    /// One line, no invisible or direction-changing characters, bounded.
    fn single_line(&mut self, text: &str, max: usize, attribute: &str) -> String {
        let mut text = crate::text::single_line(text);
        self.cut(&mut text, max, attribute);
        text
    }

    /// A recognised short field as stored; absent when nothing visible is left.
    fn short(&mut self, field: LeadField, recognised: &mut Recognised) -> Option<String> {
        recognised
            .take(field)
            .map(|text| self.single_line(&text, MAX_SHORT_TEXT_BYTES, field.name()))
            .filter(|text| !text.is_empty())
    }
}

/// Which submitted field is which lead field: the source's mapping, then
/// the known names, then question labels for what is still missing, and
/// last any value that looks like an email address. The first non-empty
/// value of each wins, but for the email: of several, the lead's own
/// (see [`EmailNaming`]) does, as it decides the sector; the others stay
/// in the raw fields, as evidence rules can match.
fn recognise_fields(fields: &[SubmittedField], mapping: Option<&FieldMapping>) -> Recognised {
    let mut recognised = Recognised::default();
    let mut unmatched: Vec<&SubmittedField> = Vec::new();
    // The field the email came from, and whether the mapping named it.
    let mut email_from: Option<(&SubmittedField, bool)> = None;
    for field in fields {
        if fields::about_someone_else(&field.name) {
            continue;
        }
        let mapped = mapping.and_then(|mapping| {
            mapping.get(&field.name).copied().or_else(|| {
                mapping
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(&field.name))
                    .map(|(_, target)| *target)
            })
        });
        match mapped.or_else(|| recognise(field)) {
            Some(LeadField::Email) if !field.value.trim().is_empty() => {
                let is_mapped = mapped.is_some();
                match email_from {
                    None => recognised.offer(LeadField::Email, &field.value),
                    // Named only when a form has several: one email costs nothing more.
                    Some((first, first_mapped))
                        if email_naming(field, is_mapped) < email_naming(first, first_mapped) =>
                    {
                        recognised.replace(LeadField::Email, &field.value)
                    }
                    Some(_) => continue,
                }
                email_from = Some((field, is_mapped));
            }
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
        recognised
            .guessed
            .push(format!("email from {}", field.name));
    }
    // Unlabelled fields (Wufoo's `Field5`, a Formstack id) may still carry
    // the number: the one value that is plainly a phone number.
    if !recognised.has(LeadField::Phone) {
        let mut phones = unmatched
            .iter()
            .filter(|f| may_hold_a_phone(&f.name) && looks_like_phone(&f.value));
        if let (Some(field), None) = (phones.next(), phones.next()) {
            recognised.offer(LeadField::Phone, &field.value);
            recognised
                .guessed
                .push(format!("phone from {}", field.name));
        }
    }
    recognised
}

/// Whether an unlabelled field's name leaves room for a phone number: not
/// a control field (`_rendered_at`), not an id, time, date, code or count.
fn may_hold_a_phone(name: &str) -> bool {
    let key = crate::lead::normalise_field_name(name);
    // (Asked only of unlabelled fields, and only when no phone was found.)
    !name.starts_with('_')
        && ![
            "id", "time", "date", "stamp", "zip", "postal", "code", "count", "ip", "version",
        ]
        .iter()
        .any(|word| key.ends_with(word) || key.starts_with(word))
}

/// A value that can only be a phone number: 7 to 15 digits and nothing but
/// digits, spaces and `+ ( ) - . /`; without separators at most 12 digits
/// (an epoch in milliseconds or an id is longer); not a date
/// (`2025-06-05`) nor an IP address.
fn looks_like_phone(value: &str) -> bool {
    let value = value.trim();
    let digits = value.bytes().filter(u8::is_ascii_digit).count();
    let separated = digits != value.len();
    (7..=15).contains(&digits)
        && (separated || digits <= 12)
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || b" +()-./".contains(&b))
        && !numeric_groups(value, 3, |groups| {
            groups.iter().filter(|g| g.len() == 4).count() == 1
                && groups.iter().filter(|g| g.len() <= 2).count() == 2
        })
        && !numeric_groups(value, 4, |groups| groups.iter().all(|g| g.len() <= 3))
}

/// `value` is `count` digit groups split by `-`, `/` or `.` that `shape`
/// accepts: a date (a year and two short groups) or an IP address (four
/// short ones).
fn numeric_groups(value: &str, count: usize, shape: impl Fn(&[&str]) -> bool) -> bool {
    let groups: Vec<&str> = value.split(['-', '/', '.']).collect();
    groups.len() == count
        && groups
            .iter()
            .all(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()))
        && shape(&groups)
}

/// How plainly a field recognised as the email is the lead's own.
fn email_naming(field: &SubmittedField, mapped: bool) -> EmailNaming {
    if mapped {
        EmailNaming::Mapped
    } else {
        fields::email_naming(field)
    }
}

/// The validated email and phone: a lead needs one of them. A broken one
/// beside a good one is dropped with a warning.
fn way_to_reach(
    recognised: &mut Recognised,
    warnings: &mut Vec<String>,
    bounds: &mut Bounds,
) -> Result<(Option<EmailAddress>, Option<String>), IntakeError> {
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
                problem: phone_problem.to_string(),
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
    let phone = phone.map(|phone| {
        if phone.extension_dropped {
            // The number still reaches the person; the switchboard finds the rest.
            bounds.note(LeadField::Phone.name());
            warnings.push(format!(
                "phone extension ignored: an extension is 1 to {MAX_PHONE_EXTENSION_DIGITS} digits after x or ext"
            ));
        }
        phone.number
    });
    Ok((email, phone))
}

/// A lead from fields already read off the body: recognise the fields,
/// find a way to reach the person, then bound and assemble.
pub fn build_lead(
    submission: Submission,
    context: IntakeContext<'_>,
) -> Result<Normalised, IntakeError> {
    let mut recognised = recognise_fields(&submission.fields, context.mapping);
    let mut warnings = Vec::new();
    let mut bounds = Bounds::default();
    let (email, phone) = way_to_reach(&mut recognised, &mut warnings, &mut bounds)?;

    let message = recognised.take(LeadField::Message).map(|mut text| {
        // Cut first: dropping characters never makes the text longer.
        bounds.cut(&mut text, MAX_MESSAGE_BYTES, LeadField::Message.name());
        // Keep line breaks and tabs in a message; drop other control characters.
        text.retain(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'));
        text
    });
    let first_name = bounds.short(LeadField::FirstName, &mut recognised);
    let last_name = bounds.short(LeadField::LastName, &mut recognised);
    let full_name = bounds
        .short(LeadField::FullName, &mut recognised)
        .or_else(|| {
            let joined = [first_name.as_deref(), last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!joined.is_empty()).then_some(joined)
        })
        .map(|mut name| {
            bounds.cut(&mut name, MAX_SHORT_TEXT_BYTES, LeadField::FullName.name());
            name
        });
    let org_type_field = submission
        .fields
        .iter()
        .find(|f| {
            recognised
                .get(LeadField::OrganizationType)
                .is_some_and(|v| v == f.value.trim())
        })
        .map(|f| f.labels.first().unwrap_or(&f.name).as_str());
    let org_type = bounds
        .short(LeadField::OrganizationType, &mut recognised)
        .map(|value| {
            let field = org_type_field.unwrap_or(LeadField::OrganizationType.name());
            let field = bounds.single_line(
                field,
                MAX_FIELD_NAME_BYTES,
                LeadField::OrganizationType.name(),
            );
            (field, value)
        });
    let contact = Contact {
        email,
        phone,
        first_name,
        last_name,
        full_name,
        company: bounds.short(LeadField::Company, &mut recognised),
        job_title: bounds.short(LeadField::JobTitle, &mut recognised),
        page_url: bounds.short(LeadField::PageUrl, &mut recognised),
        referrer: bounds.short(LeadField::Referrer, &mut recognised),
        utm: crate::lead::Utm {
            source: bounds.short(LeadField::UtmSource, &mut recognised),
            medium: bounds.short(LeadField::UtmMedium, &mut recognised),
            campaign: bounds.short(LeadField::UtmCampaign, &mut recognised),
            term: bounds.short(LeadField::UtmTerm, &mut recognised),
            content: bounds.short(LeadField::UtmContent, &mut recognised),
        },
        message,
        org_type,
    };
    // Not stored: the edge checks it against the allow-list.
    let redirect_url = recognised
        .take(LeadField::RedirectUrl)
        .map(|url| bounds.single_line(&url, MAX_SHORT_TEXT_BYTES, ""));
    let user_agent = context
        .meta
        .user_agent
        .as_deref()
        .map(|ua| bounds.single_line(ua, MAX_SHORT_TEXT_BYTES, "user_agent"));
    let ignored_files = bounded_file_names(submission.ignored_files, &mut bounds);
    let meeting = submission.meeting;
    let fields = bounded_raw_fields(submission.fields, &mut bounds);

    let lead = Lead {
        id: LeadId::new_at(context.received_at),
        received_at: context.received_at,
        source: context.source.clone(),
        contact,
        client_ip: context.meta.client_ip.clone(),
        user_agent,
        delivery_id: context.meta.delivery_id.clone().or(submission.delivery_id),
        fields,
        guessed: std::mem::take(&mut recognised.guessed)
            .into_iter()
            .map(|guess| bounds.single_line(&guess, MAX_SHORT_TEXT_BYTES, "guessed"))
            .collect(),
        truncated: bounds.truncated,
        ignored_files,
    };
    Ok(Normalised {
        lead,
        redirect_url,
        warnings,
        meeting,
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

/// Why a submitted phone is not a phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidPhone {
    #[error("phone has characters that are not part of a phone number")]
    Characters,
    #[error("phone must have 6 to 20 digits")]
    Digits,
    #[error("phone is longer than {MAX_PHONE_NUMBER_BYTES} bytes")]
    TooLong,
}

/// A phone as stored, and whether an unusable extension was left off it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanPhone {
    pub number: String,
    pub extension_dropped: bool,
}

/// Extension markers, longest first so `ext.` is not read as `ext`.
const EXTENSION_MARKERS: [&str; 4] = ["extension", "ext.", "ext", "x"];

/// A phone number as typed, checked to be one: 6 to 20 digits and the
/// punctuation people use in numbers (`+`, spaces, `-`, `.`, `()`, `/`),
/// optionally followed by an extension marker (`x`, `ext`, `ext.`,
/// `extension`) and 1 to 10 digits, kept as `<number> ext. <digits>`.
/// A marker followed by anything else keeps the number and drops the
/// extension (`extension_dropped`): the number still reaches the person.
/// Invisible characters (a number copied from a contact card carries
/// direction marks) are removed first.
pub fn clean_phone(raw: &str) -> Result<CleanPhone, InvalidPhone> {
    let visible = crate::text::strip_invisible(raw);
    let trimmed = visible.trim();
    let trimmed = trimmed
        .get(..4)
        .filter(|prefix| prefix.eq_ignore_ascii_case("tel:"))
        .map_or(trimmed, |_| trimmed[4..].trim());
    let is_number_char =
        |c: char| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')' | '/');
    let number_end = trimmed
        .find(|c: char| !is_number_char(c))
        .unwrap_or(trimmed.len());
    let (number, rest) = trimmed.split_at(number_end);
    let number = number.trim();
    let marker = EXTENSION_MARKERS.iter().find(|marker| {
        rest.get(..marker.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(marker))
    });
    let extension = match (rest.is_empty(), marker) {
        (true, _) => None,
        (false, Some(marker)) => Some(&rest[marker.len()..]),
        (false, None) => return Err(InvalidPhone::Characters),
    };
    if number.len() > MAX_PHONE_NUMBER_BYTES {
        return Err(InvalidPhone::TooLong);
    }
    let digits = number.chars().filter(char::is_ascii_digit).count();
    if !(6..=20).contains(&digits) {
        return Err(InvalidPhone::Digits);
    }
    let Some(extension) = extension else {
        return Ok(CleanPhone {
            number: number.to_owned(),
            extension_dropped: false,
        });
    };
    let extension = extension
        .trim_start_matches([' ', '.', ':', '#'])
        .trim_end();
    let usable = (1..=MAX_PHONE_EXTENSION_DIGITS).contains(&extension.len())
        && extension.bytes().all(|b| b.is_ascii_digit());
    Ok(if usable {
        CleanPhone {
            number: format!("{number} ext. {extension}"),
            extension_dropped: false,
        }
    } else {
        CleanPhone {
            number: number.to_owned(),
            extension_dropped: true,
        }
    })
}

/// The names of ignored file parts as stored: single-line, each cut to a
/// file name's length, at most [`MAX_IGNORED_FILES`] of them.
fn bounded_file_names(names: Vec<String>, bounds: &mut Bounds) -> Vec<String> {
    let mut cut = names.len() > MAX_IGNORED_FILES;
    let kept = names
        .into_iter()
        .take(MAX_IGNORED_FILES)
        .map(|name| {
            let mut name = crate::text::single_line(&name);
            cut |= truncate_utf8(&mut name, MAX_FILE_NAME_BYTES);
            name
        })
        .collect();
    if cut {
        bounds.note("ignored_files");
    }
    kept
}

/// The submitted fields as stored: at most [`MAX_FIELDS`] of them, each name
/// and label cut to [`MAX_FIELD_NAME_BYTES`], each value to
/// [`MAX_FIELD_VALUE_BYTES`], and all names and values within
/// [`MAX_RAW_TOTAL_BYTES`]: when they are over it, every value is cut to
/// one share (the long ones only), so each field keeps its name and start
/// rather than the first few keeping everything.
fn bounded_raw_fields(submitted: Vec<SubmittedField>, bounds: &mut Bounds) -> Vec<RawField> {
    let mut cut = submitted.len() > MAX_FIELDS;
    let mut out: Vec<RawField> = submitted
        .into_iter()
        .take(MAX_FIELDS)
        .map(|field| {
            let mut raw = RawField::new(field.name, field.value);
            cut |= truncate_utf8(&mut raw.name, MAX_FIELD_NAME_BYTES);
            cut |= truncate_utf8(&mut raw.value, MAX_FIELD_VALUE_BYTES);
            raw.label = field.labels.into_iter().next().map(|mut label| {
                cut |= truncate_utf8(&mut label, MAX_FIELD_NAME_BYTES);
                label
            });
            raw
        })
        .collect();
    let names: usize = out.iter().map(|f| f.name.len()).sum();
    let values: usize = out.iter().map(|f| f.value.len()).sum();
    if names + values > MAX_RAW_TOTAL_BYTES {
        let share = value_share(&out, MAX_RAW_TOTAL_BYTES.saturating_sub(names));
        for field in &mut out {
            cut |= truncate_utf8(&mut field.value, share);
        }
    }
    if cut {
        bounds.note("fields");
    }
    out
}

/// The largest cap on every value that keeps their total within
/// `available` bytes: short values stay whole, long ones share the rest.
fn value_share(fields: &[RawField], available: usize) -> usize {
    let mut lengths: Vec<usize> = fields.iter().map(|f| f.value.len()).collect();
    lengths.sort_unstable();
    let mut remaining = available;
    for (i, len) in lengths.iter().enumerate() {
        let share = remaining / (lengths.len() - i);
        if *len > share {
            return share;
        }
        remaining -= len;
    }
    MAX_FIELD_VALUE_BYTES
}

#[cfg(test)]
mod tests;
