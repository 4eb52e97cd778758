//! The generic rules that read form tools nobody wrote a mapping for, in
//! the shapes most of them share: an answer as an object of its label and
//! its value (`{label, type, value}`, `{name, value}`, `{question,
//! answer}`) at any depth, choices sent as option ids beside their
//! options, and compound answers (`{full}`, `{area, phone}`).

use serde_json_borrow::{ObjectAsVec as Map, Value};

use super::body::{FieldKind, Member, SubmittedField, scalar_text};

/// Where an answer object keeps its value.
const VALUE_KEYS: [&str; 3] = ["value", "answer", "answers"];
/// Where it keeps what the question says, most specific first.
const LABEL_KEYS: [&str; 4] = ["label", "title", "question", "name"];
/// Where it keeps the question's own id.
const ID_KEYS: [&str; 3] = ["key", "id", "ref"];

/// An answer object as one field: `{key, label, type, value}` (Tally),
/// `{id, name, type, value}` (Fillout), `{question, answer}` (Calendly),
/// `{label, value}` (Cal.com's responses). Its name is its id, else the key
/// it sits under (`within`), else its label; its labels and its type help
/// recognition. `None` for anything else, which is flattened as before.
pub(super) fn labelled_entry(within: Option<&str>, object: &Map<'_>) -> Option<SubmittedField> {
    let value = VALUE_KEYS.iter().find_map(|key| object.member(key))?;
    // A value that is itself an object, or a sibling that is a contact
    // field (`{value, email}`), means this is no single answer.
    if value.is_object() || object.keys().any(super::fields::names_contact_field) {
        return None;
    }
    let labels: Vec<&str> = LABEL_KEYS
        .iter()
        .filter_map(|key| object.member(key)?.as_str())
        .map(str::trim)
        .filter(|label| !label.is_empty())
        .collect();
    let id = ID_KEYS
        .iter()
        .find_map(|key| object.member(key).and_then(scalar_text))
        .filter(|id| !id.trim().is_empty());
    let name = id
        .or_else(|| within.map(str::to_owned))
        .or_else(|| labels.first().map(|label| (*label).to_owned()))?;
    let text = chosen_options(value, object.member("options")).or_else(|| scalar_text(value))?;
    let kind = object
        .member("type")
        .and_then(Value::as_str)
        .and_then(kind_of_type);
    let mut field = SubmittedField::new(name, text).kind(kind);
    for label in labels {
        field = field.labelled(Some(label));
    }
    Some(field)
}

/// Choices sent as option ids (Tally's `["a93d…"]`), as the options' texts.
fn chosen_options(value: &Value<'_>, options: Option<&Value<'_>>) -> Option<String> {
    // Each chosen id is looked for among the options: bounded, so a body
    // of thousands of both cannot make the search quadratic.
    const MAX_OPTIONS: usize = 500;
    const MAX_CHOSEN: usize = 50;
    let options = options?.as_array()?;
    if options.len() > MAX_OPTIONS || value.as_array().is_some_and(|ids| ids.len() > MAX_CHOSEN) {
        return None;
    }
    let text_of = |id: &str| {
        options.iter().find_map(|option| {
            (option.member("id")?.as_str()? == id)
                .then(|| {
                    ["text", "label", "value"]
                        .iter()
                        .find_map(|key| option.member(key)?.as_str())
                })
                .flatten()
        })
    };
    let chosen: Vec<&str> = match value {
        Value::Str(id) => vec![text_of(id.as_ref())?],
        Value::Array(ids) => ids
            .iter()
            .map(|id| id.as_str().and_then(text_of))
            .collect::<Option<Vec<_>>>()?,
        _ => return None,
    };
    Some(chosen.join(", "))
}

/// A vendor's field type in words: `INPUT_EMAIL`, `EmailInput`, `email`,
/// `INPUT_PHONE_NUMBER`, `PhoneNumber`, `tel`, `url`.
pub(super) fn kind_of_type(vendor_type: &str) -> Option<FieldKind> {
    let upper = vendor_type.to_ascii_uppercase();
    if upper.contains("EMAIL") {
        Some(FieldKind::Email)
    } else if upper.contains("PHONE") || upper == "TEL" || upper.starts_with("TEL_") {
        Some(FieldKind::Phone)
    } else if upper == "URL" || upper.contains("WEBSITE") || upper.starts_with("INPUT_LINK") {
        Some(FieldKind::Url)
    } else {
        None
    }
}

/// The parts a compound phone answer is sent in (Jotform's `{full}` and
/// `{area, phone}`).
const PHONE_PARTS: [&str; 5] = ["full", "area", "phone", "country", "ext"];

/// A compound answer as one value: a phone as `{full: "(415) 555-0132"}`
/// or `{area: "617", phone: "5550199"}`. Names (`{first, last}`) and
/// addresses stay apart, as their parts are fields of their own.
pub(super) fn compound_text(object: &Map<'_>) -> Option<String> {
    if object.is_empty()
        || !object.iter().all(|(key, value)| {
            PHONE_PARTS.contains(&key) && !value.is_object() && !value.is_array()
        })
    {
        return None;
    }
    let part = |key: &str| {
        object
            .member(key)
            .and_then(scalar_text)
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty())
    };
    if let Some(full) = part("full") {
        return Some(full);
    }
    let number = part("phone")?;
    let mut text = String::new();
    for prefix in [
        part("country").map(|c| format!("+{}", c.trim_start_matches('+'))),
        part("area"),
    ]
    .into_iter()
    .flatten()
    {
        text.push_str(&prefix);
        text.push(' ');
    }
    text.push_str(&number);
    if let Some(ext) = part("ext") {
        text.push_str(" x");
        text.push_str(&ext);
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::body::read_json;

    fn entry(json: &str, within: Option<&str>) -> Option<SubmittedField> {
        read_json(json, |value| labelled_entry(within, value.as_object()?))
            .ok()
            .flatten()
    }

    fn compound(json: &str) -> Option<String> {
        read_json(json, |value| compound_text(value.as_object()?))
            .ok()
            .flatten()
    }

    #[test]
    fn answer_objects_become_one_labelled_field() {
        let tally = entry(
            r#"{"key":"question_rB7Nl4","label":"Work email","type":"INPUT_EMAIL","value":"k.lee@gsa.gov"}"#,
            None,
        )
        .expect("an entry");
        assert_eq!(tally.name, "question_rB7Nl4");
        assert_eq!(tally.labels, ["Work email"]);
        assert_eq!(tally.kind, Some(FieldKind::Email));
        assert_eq!(tally.value, "k.lee@gsa.gov");

        let calendly = entry(
            r#"{"answer":"Acme","position":0,"question":"Company"}"#,
            None,
        )
        .expect("an entry");
        assert_eq!(
            (calendly.name.as_str(), calendly.value.as_str()),
            ("Company", "Acme")
        );

        let cal_com = entry(
            r#"{"label":"your_email","value":"t@example.com"}"#,
            Some("email"),
        )
        .expect("an entry");
        assert_eq!(cal_com.name, "email");

        // Not answers: no value, or a value that is itself an object.
        assert_eq!(
            entry(r#"{"name":"Jane","email":"j@example.com"}"#, None),
            None
        );
        assert_eq!(entry(r#"{"name":"x","value":{"a":1}}"#, None), None);
        assert_eq!(entry(r#"{"value":"x"}"#, None), None);
        // A contact that happens to carry a value is read field by field.
        assert_eq!(
            entry(
                r#"{"name":"Jane","value":"5","email":"j@example.com"}"#,
                Some("contact")
            ),
            None
        );
        // A key/value pair list (`[{"key":"email","value":…}]`) is one too.
        let pair = entry(r#"{"key":"email","value":"a@example.com"}"#, None).expect("an entry");
        assert_eq!(pair.name, "email");
    }

    #[test]
    fn choices_by_option_id_read_as_their_texts() {
        let field = entry(
            r#"{"key":"q","label":"Team size","type":"DROPDOWN","value":["b"],"options":[{"id":"a","text":"1-10"},{"id":"b","text":"11-50"}]}"#,
            None,
        )
        .expect("an entry");
        assert_eq!(field.value, "11-50");
        // An id without its option keeps the ids as sent.
        let field = entry(
            r#"{"key":"q","label":"Size","value":["zz"],"options":[{"id":"a","text":"1-10"}]}"#,
            None,
        )
        .expect("an entry");
        assert_eq!(field.value, "zz");
    }

    #[test]
    fn compound_phones_are_one_value_and_names_stay_apart() {
        assert_eq!(
            compound(r#"{"full":"(415) 555-0132"}"#).as_deref(),
            Some("(415) 555-0132")
        );
        assert_eq!(
            compound(r#"{"area":"617","phone":"5550199"}"#).as_deref(),
            Some("617 5550199")
        );
        assert_eq!(compound(r#"{"first":"Priya","last":"Raman"}"#), None);
        assert_eq!(compound(r#"{"city":"Chicago","phone":"1"}"#), None);
        assert_eq!(compound(r#"{}"#), None);
    }

    #[test]
    fn vendor_types_in_words() {
        for (vendor_type, kind) in [
            ("INPUT_EMAIL", Some(FieldKind::Email)),
            ("EmailInput", Some(FieldKind::Email)),
            ("INPUT_PHONE_NUMBER", Some(FieldKind::Phone)),
            ("PhoneNumber", Some(FieldKind::Phone)),
            ("tel", Some(FieldKind::Phone)),
            ("url", Some(FieldKind::Url)),
            ("ShortAnswer", None),
            ("TEXTAREA", None),
        ] {
            assert_eq!(kind_of_type(vendor_type), kind, "{vendor_type}");
        }
    }
}
