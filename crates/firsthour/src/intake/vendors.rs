//! The vendor shapes the intake unwraps: form-encoded Unbounce (`data.json`)
//! and Elementor (`fields[id][value]`), and the JSON webhooks of Typeform,
//! Webflow (v1 and v2) and HubSpot (forms and contacts). Everything else is
//! read generically by [`super::body`].

use std::hash::BuildHasher;

use serde_json_borrow::{ObjectAsVec as Map, Value};

use super::body::*;

/// Fields some tools put their shared secret in, in the body itself
/// (Wufoo's and Formstack's `HandshakeKey`, Drift's verification `token`):
/// never stored with the lead.
const SHARED_SECRET_FIELDS: [&str; 3] = ["handshakekey", "token", "verificationtoken"];

/// Drops the fields that carry a tool's shared secret (checked, when the
/// source is signed, before this; see `signature`).
pub(super) fn drop_shared_secrets(fields: &mut Vec<SubmittedField>) {
    // Every such name ends in `key` or `token`: two byte compares rule out
    // nearly every field before its name is normalised.
    let ends_with = |name: &str, tail: &str| {
        name.len() >= tail.len()
            && name.as_bytes()[name.len() - tail.len()..].eq_ignore_ascii_case(tail.as_bytes())
    };
    let is_secret = |name: &str| {
        (ends_with(name, "key") || ends_with(name, "token"))
            && super::fields::is_one_of(name, &SHARED_SECRET_FIELDS)
    };
    if fields.iter().any(|field| is_secret(&field.name)) {
        fields.retain(|field| !is_secret(&field.name));
    }
}

/// Form-encoded vendor shapes: Jotform sends the answers as JSON in
/// `rawRequest`; Wufoo labels its `FieldN`s in `FieldStructure`; Unbounce
/// wraps the fields as JSON in a `data.json` field; Elementor's advanced
/// data uses `fields[id][value]`.
pub(super) fn unwrap_form_vendors(fields: Vec<SubmittedField>) -> Submission {
    let fields = match jotform(fields) {
        Ok(submission) => return submission,
        Err(fields) => expand_key_value_lines(wufoo(fields)),
    };
    let unbounce = fields.iter().find(|f| f.name == "data.json").and_then(|f| {
        read_json(&f.value, |value| {
            let data = value.as_object()?;
            Some(
                data.iter()
                    .filter_map(|(name, value)| {
                        Some(SubmittedField::new(name, scalar_text(value)?))
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .ok()
        .flatten()
    });
    if let Some(data) = unbounce {
        let mut out: Vec<SubmittedField> = fields
            .into_iter()
            .filter(|f| f.name != "data.json" && f.name != "data.xml")
            .collect();
        out.extend(data);
        return Submission {
            fields: out,
            ..Submission::default()
        };
    }
    if fields.iter().any(|f| f.name.starts_with("fields[")) {
        return Submission {
            fields: unwrap_elementor(fields),
            ..Submission::default()
        };
    }
    Submission {
        fields,
        ..Submission::default()
    }
}

/// Jotform's webhook: multipart (or form) fields about the submission
/// (`formID`, `submissionID`, `formTitle`, `ip`…), `pretty` (the answers as
/// `Label:Value, …`, ambiguous when a value has a comma), and `rawRequest`:
/// the answers as JSON keyed `q3_name`, `q4_email`, with compound answers
/// (`{first, last}`, `{full}`). The answers are read from `rawRequest`.
fn jotform(fields: Vec<SubmittedField>) -> Result<Submission, Vec<SubmittedField>> {
    let Some(answers) = fields
        .iter()
        .find(|f| f.name == "rawRequest")
        .and_then(|raw| {
            read_json(&raw.value, |value| {
                let mut answers = Vec::new();
                flatten("", value.as_object()?, &mut answers);
                Some(answers)
            })
            .ok()
            .flatten()
        })
    else {
        return Err(fields);
    };
    let delivery_id = fields
        .iter()
        .find(|f| f.name == "submissionID")
        .map(|f| f.value.clone());
    let mut out: Vec<SubmittedField> = fields
        .into_iter()
        .filter(|f| f.name != "rawRequest" && f.name != "pretty")
        .collect();
    // Its page-timing trace says nothing about the lead and is long.
    out.extend(
        answers
            .into_iter()
            .filter(|f| f.name != "jsExecutionTracker"),
    );
    Ok(Submission {
        fields: out,
        delivery_id,
        ..Submission::default()
    })
}

/// A compound answer sent as lines of `part = value` (Formstack's
/// form-encoded name: `first = Jordan\nlast = Ellis`) becomes its parts,
/// `Name.first` and `Name.last`, as the same answer in JSON would.
fn expand_key_value_lines(fields: Vec<SubmittedField>) -> Vec<SubmittedField> {
    /// The parts Formstack's compound fields (name, address) are sent in:
    /// only these, so a message that happens to read `x = 5` stays whole.
    const PARTS: [&str; 12] = [
        "first", "middle", "last", "prefix", "suffix", "initial", "address", "address2", "city",
        "state", "zip", "country",
    ];
    fn parts(value: &str) -> Option<Vec<(&str, &str)>> {
        let parts = value
            .lines()
            .map(|line| {
                let (key, part) = line.split_once(" = ")?;
                let key = key.trim();
                PARTS.contains(&key).then_some((key, part.trim()))
            })
            .collect::<Option<Vec<_>>>()?;
        (parts.len() >= 2).then_some(parts)
    }
    // Most bodies have no ` = ` at all: a `memchr` for `=`, not a substring
    // searcher built per value.
    let has_part = |value: &str| {
        let bytes = value.as_bytes();
        memchr::memchr_iter(b'=', bytes).any(|at| {
            at > 0 && bytes.get(at - 1) == Some(&b' ') && bytes.get(at + 1) == Some(&b' ')
        })
    };
    if !fields.iter().any(|f| has_part(&f.value)) {
        return fields;
    }
    let mut out = Vec::with_capacity(fields.len());
    for field in fields {
        match parts(&field.value) {
            Some(parts) => out.extend(
                parts
                    .into_iter()
                    .map(|(key, part)| SubmittedField::new(format!("{}.{key}", field.name), part)),
            ),
            None => out.push(field),
        }
    }
    out
}

/// Wufoo's webhook: `Field1`, `Field2`… with, when "Include Field and Form
/// Structures" is on, `FieldStructure` giving each id its title, its
/// sub-field labels (`Name` → `First`, `Last`) and its type.
fn wufoo(fields: Vec<SubmittedField>) -> Vec<SubmittedField> {
    let Some(structure) = fields
        .iter()
        .find(|f| f.name == "FieldStructure")
        .and_then(|f| {
            read_json(&f.value, |value| {
                let mut labels: Vec<(String, String, Option<FieldKind>)> = Vec::new();
                for field in value.member("Fields")?.as_array()? {
                    let title = field
                        .member("Title")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let kind = field
                        .member("Type")
                        .and_then(Value::as_str)
                        .and_then(super::entries::kind_of_type);
                    match field.member("SubFields").and_then(Value::as_array) {
                        Some(parts) => {
                            for part in parts {
                                let (Some(id), label) = (
                                    part.member("ID").and_then(Value::as_str),
                                    part.member("Label")
                                        .and_then(Value::as_str)
                                        .unwrap_or_default(),
                                ) else {
                                    continue;
                                };
                                labels.push((id.to_owned(), format!("{title} {label}"), kind));
                            }
                        }
                        None => {
                            if let Some(id) = field.member("ID").and_then(Value::as_str) {
                                labels.push((id.to_owned(), title.to_owned(), kind));
                            }
                        }
                    }
                }
                Some(labels)
            })
            .ok()
            .flatten()
        })
    else {
        return fields;
    };
    // Each field looks its id up in the structure: a structure larger than
    // any form is not used, so a crafted body cannot make that quadratic.
    if structure.len() > 500 {
        return fields;
    }
    fields
        .into_iter()
        .filter(|f| f.name != "FieldStructure" && f.name != "FormStructure")
        .map(
            |field| match structure.iter().find(|(id, _, _)| *id == field.name) {
                Some((_, label, kind)) => {
                    let kind = *kind;
                    field.labelled(Some(label)).kind(kind)
                }
                None => field,
            },
        )
        .collect()
}

/// Elementor Pro's webhook with "Advanced Data": `fields[email][value]`,
/// `fields[email][title]`, `fields[email][type]`, `meta[page_url][value]`…
fn unwrap_elementor(fields: Vec<SubmittedField>) -> Vec<SubmittedField> {
    struct Entry {
        id: String,
        value: Option<String>,
        title: Option<String>,
        kind: Option<FieldKind>,
    }
    let mut entries: Vec<Entry> = Vec::new();
    let mut by_id: hashbrown::HashTable<usize> = hashbrown::HashTable::new();
    let hasher = std::hash::RandomState::new();
    let mut plain = Vec::new();
    for field in fields {
        let Some((group, id, attribute)) = bracket_path(&field.name) else {
            match field
                .name
                .split_once('[')
                .and_then(|(g, rest)| Some((g, rest.strip_suffix(']')?)))
            {
                // `form[name]` → `form_name`
                Some((group, key)) => {
                    plain.push(SubmittedField::new(format!("{group}_{key}"), field.value))
                }
                None => plain.push(field),
            }
            continue;
        };
        if group != "fields" && group != "meta" {
            plain.push(SubmittedField::new(format!("{group}_{id}"), field.value));
            continue;
        }
        // Entries by id through a hash index: a search of the list per field
        // made 12,000 ids take seconds. Keyed hashing: the ids are the sender's.
        let id_of = |index: &usize| entries.get(*index).map_or("", |e: &Entry| e.id.as_str());
        let index = match by_id.entry(
            hasher.hash_one(id),
            |other| id_of(other) == id,
            |other| hasher.hash_one(id_of(other)),
        ) {
            hashbrown::hash_table::Entry::Occupied(found) => *found.get(),
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(entries.len());
                entries.push(Entry {
                    id: id.to_owned(),
                    value: None,
                    title: None,
                    kind: None,
                });
                entries.len() - 1
            }
        };
        let Some(entry) = entries.get_mut(index) else {
            continue;
        };
        match attribute {
            "value" => entry.value = Some(field.value),
            "title" => entry.title = Some(field.value),
            "type" => entry.kind = kind_from_type(&field.value),
            _ => {}
        }
    }
    let mut out: Vec<SubmittedField> = entries
        .into_iter()
        .filter_map(|e| {
            let value = e.value?;
            Some(
                SubmittedField::new(e.id, value)
                    .labelled(e.title.as_deref())
                    .kind(e.kind),
            )
        })
        .collect();
    out.extend(plain);
    out
}

/// `group[id][attribute]` → its three parts.
fn bracket_path(name: &str) -> Option<(&str, &str, &str)> {
    let (group, rest) = name.split_once('[')?;
    let (id, rest) = rest.split_once("][")?;
    let attribute = rest.strip_suffix(']')?;
    Some((group, id, attribute))
}

fn kind_from_type(vendor_type: &str) -> Option<FieldKind> {
    match vendor_type.to_ascii_lowercase().as_str() {
        "email" => Some(FieldKind::Email),
        "tel" | "phone" | "phone_number" => Some(FieldKind::Phone),
        "url" | "website" => Some(FieldKind::Url),
        _ => None,
    }
}

/// Typeform's `form_response` webhook: one answer per question, typed, with
/// question titles in `definition.fields` and hidden fields (often UTMs).
pub(super) fn typeform(root: &Map<'_>, response: &Map<'_>) -> Submission {
    let titles: Vec<(&str, &str)> = response
        .member("definition")
        .and_then(|d| d.member("fields"))
        .and_then(Value::as_array)
        .map(|defs| {
            defs.iter()
                .filter_map(|d| Some((d.member("id")?.as_str()?, d.member("title")?.as_str()?)))
                .collect()
        })
        .unwrap_or_default();
    let mut fields = Vec::new();
    for answer in response
        .member("answers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(answer_type) = answer.member("type").and_then(Value::as_str) else {
            continue;
        };
        let field = answer.member("field");
        let id = field
            .and_then(|f| f.member("id"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let reference = field.and_then(|f| f.member("ref")).and_then(Value::as_str);
        let field_type = field.and_then(|f| f.member("type")).and_then(Value::as_str);
        let title = titles
            .iter()
            .find(|(def_id, _)| *def_id == id)
            .map(|(_, t)| *t);
        let value = match answer_type {
            "choice" => answer
                .member("choice")
                .and_then(|c| c.member("label").or_else(|| c.member("other")))
                .and_then(scalar_text),
            "choices" => answer
                .member("choices")
                .and_then(|c| c.member("labels"))
                .and_then(scalar_text),
            other => answer.member(other).and_then(scalar_text),
        };
        let Some(value) = value else { continue };
        let name = reference.filter(|r| !r.is_empty()).unwrap_or(id);
        let kind = kind_from_type(answer_type).or_else(|| field_type.and_then(kind_from_type));
        let mut submitted = SubmittedField::new(name, value).labelled(title).kind(kind);
        if let Some(field_type) = field_type {
            // Contact-info sub-questions carry their meaning in the type: `first_name`, `company`…
            submitted = submitted.labelled(Some(field_type));
        }
        fields.push(submitted);
    }
    if let Some(hidden) = response.member("hidden").and_then(Value::as_object) {
        flatten("", hidden, &mut fields);
    }
    Submission {
        fields,
        ignored_files: Vec::new(),
        meeting: None,
        delivery_id: root
            .member("event_id")
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
}

/// Webflow form submissions: v2 (`triggerType` + `payload.data`) and the
/// legacy v1 shape (`name`, `site`, `data`, `_id` at the top).
pub(super) fn webflow(root: &Map<'_>) -> Option<Submission> {
    let (envelope, id_key) = match root.member("payload").and_then(Value::as_object) {
        Some(payload)
            if root.member("triggerType").and_then(Value::as_str) == Some("form_submission") =>
        {
            (payload, "id")
        }
        _ if root.contains_key("site") && root.contains_key("_id") => (root, "_id"),
        _ => return None,
    };
    let data = envelope.member("data")?.as_object()?;
    let mut fields = Vec::new();
    flatten("", data, &mut fields);
    if let Some(form_name) = envelope.member("name").and_then(Value::as_str) {
        fields.push(SubmittedField::new("form_name", form_name));
    }
    Some(Submission {
        fields,
        ignored_files: Vec::new(),
        meeting: None,
        delivery_id: envelope
            .member(id_key)
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// HubSpot shapes: the Forms submission API (`fields: [{name, value}]` with a
/// `context`) and contact payloads (`properties: {email: {value}}`).
pub(super) fn hubspot(root: &Map<'_>) -> Option<Submission> {
    let mut fields = Vec::new();
    if let Some(list) = root.member("fields").and_then(Value::as_array)
        && list
            .iter()
            .all(|f| f.member("name").is_some() && f.member("value").is_some())
    {
        for item in list {
            let name = item
                .member("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if let Some(value) = item.member("value").and_then(scalar_text) {
                fields.push(SubmittedField::new(name, value));
            }
        }
        if let Some(context) = root.member("context").and_then(Value::as_object) {
            let rename = |key: &str| match key {
                "pageUri" => "page_url".to_owned(),
                other => format!("context.{other}"),
            };
            for (key, value) in context.iter() {
                if let Some(text) = scalar_text(value) {
                    fields.push(SubmittedField::new(rename(key), text));
                }
            }
        }
        return Some(Submission {
            fields,
            ..Submission::default()
        });
    }
    let properties = root.member("properties")?.as_object()?;
    if !properties.values().any(|v| v.member("value").is_some()) {
        return None;
    }
    for (name, property) in properties.iter() {
        let value = property.member("value").unwrap_or(property);
        if let Some(text) = scalar_text(value) {
            fields.push(SubmittedField::new(name, text));
        }
    }
    Some(Submission {
        fields,
        ..Submission::default()
    })
}

/// A booking webhook's meeting: Calendly's `invitee.created` (the host in
/// `scheduled_event.event_memberships`) or Cal.com's `BOOKING_CREATED`
/// (the `organizer`). The person's own fields are read generically; the
/// host's never become the lead's (see `fields::about_someone_else`).
pub(super) fn booked_meeting(root: &Map<'_>) -> Option<BookedMeeting> {
    let text = |value: Option<&Value<'_>>| value.and_then(Value::as_str).map(str::to_owned);
    let payload = root.member("payload")?;
    if root.member("event").and_then(Value::as_str) == Some("invitee.created") {
        let event = payload.member("scheduled_event");
        let host = event
            .and_then(|e| e.member("event_memberships"))
            .and_then(Value::as_array)
            .and_then(|hosts| hosts.first())
            .and_then(|host| host.member("user_email"));
        return Some(BookedMeeting {
            id: text(payload.member("uri"))?,
            host: text(host),
            starts_at: text(event.and_then(|e| e.member("start_time"))),
        });
    }
    if root.member("triggerEvent").and_then(Value::as_str) == Some("BOOKING_CREATED") {
        return Some(BookedMeeting {
            id: text(payload.member("uid"))
                .or_else(|| payload.member("bookingId").and_then(scalar_text))?,
            host: text(payload.member("organizer").and_then(|o| o.member("email"))),
            starts_at: text(payload.member("startTime")),
        });
    }
    None
}
