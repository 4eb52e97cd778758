//! Turns a request body (JSON, urlencoded or multipart, any declared charset)
//! into a flat list of submitted fields, unwrapping the documented webhook
//! shapes of the form vendors (Typeform, Webflow, HubSpot, Unbounce, Elementor).

use std::borrow::Cow;

use serde_json_borrow::{ObjectAsVec as Map, Value};

use super::IntakeError;
use super::entries;
use super::vendors::{
    booked_meeting, drop_shared_secrets, hubspot, typeform, unwrap_form_vendors, webflow,
};

/// A member of a JSON object, or of a value that may be one.
pub(super) trait Member<'ctx> {
    fn member(&self, key: &str) -> Option<&Value<'ctx>>;
}

impl<'ctx> Member<'ctx> for Value<'ctx> {
    fn member(&self, key: &str) -> Option<&Value<'ctx>> {
        self.as_object()?.get(key)
    }
}

impl<'ctx> Member<'ctx> for Map<'ctx> {
    fn member(&self, key: &str) -> Option<&Value<'ctx>> {
        self.get(key)
    }
}

/// A JSON number as serde_json writes it (`3`, `-1`, `0.5`, `1e21`).
fn number_text(number: &serde_json_borrow::Number) -> String {
    if let Some(n) = number.as_u64() {
        n.to_string()
    } else if let Some(n) = number.as_i64() {
        n.to_string()
    } else {
        number
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| "null".to_owned(), |n| n.to_string())
    }
}

/// What a field's vendor says it holds, when the vendor says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Email,
    Phone,
    Url,
}

/// One field as submitted, before recognition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmittedField {
    /// The name as sent (a flattened path for nested JSON: `contact.email`).
    pub name: String,
    pub value: String,
    /// Other names the vendor gives the field (a Typeform question title,
    /// an Elementor label): recognition looks at these too.
    pub labels: Vec<String>,
    pub kind: Option<FieldKind>,
}

impl SubmittedField {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            labels: Vec::new(),
            kind: None,
        }
    }

    pub(super) fn labelled(mut self, label: Option<&str>) -> Self {
        if let Some(label) = label.filter(|l| !l.is_empty() && *l != self.name) {
            self.labels.push(label.to_owned());
        }
        self
    }

    pub(super) fn kind(mut self, kind: Option<FieldKind>) -> Self {
        self.kind = kind;
        self
    }
}

/// The fields of one submission, plus what the body says about the delivery.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Submission {
    pub fields: Vec<SubmittedField>,
    /// File parts of a multipart body: not stored, their names recorded.
    pub ignored_files: Vec<String>,
    /// A vendor's own id for the delivery (Typeform `event_id`, Webflow `_id`).
    pub delivery_id: Option<String>,
    /// The person booked a meeting (Calendly, Cal.com): already a touch.
    pub meeting: Option<BookedMeeting>,
}

/// A meeting the person booked with someone in the company: the first
/// response has already happened, so it is recorded as a touch (channel
/// `meeting`) and no ladder nags about the lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookedMeeting {
    /// The booking's own id (Calendly's invitee URI, Cal.com's `uid`): the
    /// touch is recorded once per booking.
    pub id: String,
    /// Who the meeting is with (the host, the organiser), if the body says.
    pub host: Option<String>,
    pub starts_at: Option<String>,
}

/// The media types the intake understands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum BodyFormat {
    Json,
    UrlEncoded,
    Multipart {
        boundary: String,
    },
    /// `text/plain`: what `navigator.sendBeacon` and no-cors `fetch` send.
    PlainText,
}

/// Nesting deeper than this in a JSON body is refused as malformed.
const MAX_JSON_DEPTH: usize = 32;

/// Parses `body` as declared by `content_type` (the raw header value).
pub fn parse_body(body: &[u8], content_type: Option<&str>) -> Result<Submission, IntakeError> {
    let (format, charset) = match content_type.map(str::trim).filter(|ct| !ct.is_empty()) {
        Some(header) => media_type(header)?,
        None => (sniff(body)?, None),
    };
    let charset = charset.as_deref();
    let mut submission = match format {
        BodyFormat::Json => parse_json(&decode_text(body, charset, TextOrigin::Json)?),
        BodyFormat::UrlEncoded => {
            let (body, charset) = without_leading_bom(body, charset);
            parse_urlencoded(&body, charset)
        }
        BodyFormat::Multipart { boundary } => {
            let (body, charset) = without_leading_bom(body, charset);
            parse_multipart(&body, &boundary, charset)
        }
        BodyFormat::PlainText => {
            let text = decode_text(body, charset, TextOrigin::Body)?;
            if text.trim_start().starts_with('{') {
                parse_json(&text)
            } else {
                parse_urlencoded(text.as_bytes(), Some("utf-8"))
            }
        }
    }?;
    drop_shared_secrets(&mut submission.fields);
    Ok(submission)
}

fn media_type(header: &str) -> Result<(BodyFormat, Option<String>), IntakeError> {
    let mime: mime::Mime = header.parse().map_err(|_| {
        IntakeError::UnsupportedMediaType(format!("unreadable Content-Type {header:?}"))
    })?;
    let charset = mime.get_param(mime::CHARSET).map(|c| c.as_str().to_owned());
    let format = match (mime.type_(), mime.subtype(), mime.suffix()) {
        (mime::APPLICATION, mime::JSON, _) | (mime::APPLICATION, _, Some(mime::JSON)) => {
            BodyFormat::Json
        }
        (mime::APPLICATION, mime::WWW_FORM_URLENCODED, _) => BodyFormat::UrlEncoded,
        (mime::MULTIPART, mime::FORM_DATA, _) => {
            let boundary = mime
                .get_param(mime::BOUNDARY)
                .map(|b| b.as_str().to_owned())
                .ok_or_else(|| {
                    IntakeError::Malformed("multipart/form-data without a boundary".into())
                })?;
            BodyFormat::Multipart { boundary }
        }
        (mime::TEXT, mime::PLAIN, _) => BodyFormat::PlainText,
        _ => {
            return Err(IntakeError::UnsupportedMediaType(format!(
                "{} is not accepted; send application/json, application/x-www-form-urlencoded or multipart/form-data",
                mime.essence_str()
            )));
        }
    };
    Ok((format, charset))
}

/// Without a Content-Type, a body that looks like JSON is JSON and anything
/// else with `=` is a form; an empty body is not a lead.
fn sniff(body: &[u8]) -> Result<BodyFormat, IntakeError> {
    let start = body.iter().find(|b| !b.is_ascii_whitespace());
    match start {
        None => Err(IntakeError::Malformed("the request body is empty".into())),
        Some(b'{') => Ok(BodyFormat::Json),
        Some(_) if body.contains(&b'=') => Ok(BodyFormat::UrlEncoded),
        Some(_) => Err(IntakeError::UnsupportedMediaType(
            "no Content-Type, and the body is neither JSON nor a form".into(),
        )),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TextOrigin {
    /// A whole JSON body: its leading BOM may choose the encoding.
    Json,
    /// A whole form-like body (`text/plain`): the same.
    Body,
    /// One urlencoded name or value, or one multipart part: never chooses an
    /// encoding from its own first bytes (a value starting FF FE is not UTF-16).
    Value,
}

/// A form body's leading BOM chooses its encoding, as a whole body's may:
/// a UTF-8 BOM is dropped; a UTF-16 body is re-read as UTF-8 text. Its values
/// are then decoded as UTF-8, whatever the header declared.
fn without_leading_bom<'a>(
    body: &'a [u8],
    charset: Option<&'a str>,
) -> (Cow<'a, [u8]>, Option<&'a str>) {
    match encoding_rs::Encoding::for_bom(body) {
        None => (Cow::Borrowed(body), charset),
        Some((encoding, bom_len)) => {
            let rest = body.get(bom_len..).unwrap_or_default();
            let body = if encoding == encoding_rs::UTF_8 {
                Cow::Borrowed(rest)
            } else {
                match encoding.decode_without_bom_handling(rest).0 {
                    Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
                    Cow::Owned(text) => Cow::Owned(text.into_bytes()),
                }
            };
            (body, Some("utf-8"))
        }
    }
}

/// Decodes bytes in the declared charset. JSON must be valid in its charset;
/// a form without a declared charset that is not valid UTF-8 is read as
/// windows-1252, which is what browsers send from legacy-encoded pages.
fn decode_text<'a>(
    bytes: &'a [u8],
    charset: Option<&str>,
    origin: TextOrigin,
) -> Result<Cow<'a, str>, IntakeError> {
    let encoding = match charset {
        Some(label) => {
            encoding_rs::Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
                IntakeError::UnsupportedMediaType(format!("unknown charset {label:?}"))
            })?
        }
        None => encoding_rs::UTF_8,
    };
    let (text, had_errors) = if origin == TextOrigin::Value {
        // Only the encoding's own BOM is dropped: the bytes choose nothing.
        encoding.decode_with_bom_removal(bytes)
    } else {
        let (text, _, had_errors) = encoding.decode(bytes);
        (text, had_errors)
    };
    if !had_errors {
        return Ok(text);
    }
    match (origin, charset) {
        (TextOrigin::Body | TextOrigin::Value, None) => Ok(encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0),
        (TextOrigin::Json, _) => Err(IntakeError::Malformed(format!(
            "the JSON body is not valid {}",
            encoding.name()
        ))),
        (TextOrigin::Body | TextOrigin::Value, Some(_)) => Ok(text),
    }
}

fn parse_urlencoded(body: &[u8], charset: Option<&str>) -> Result<Submission, IntakeError> {
    let mut fields = Vec::new();
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|b| *b == b'=') {
            Some(eq) => (&pair[..eq], &pair[eq + 1..]),
            None => (pair, &b""[..]),
        };
        let name = percent_decode_form(name, charset)?;
        let value = percent_decode_form(value, charset)?;
        fields.push(SubmittedField::new(name, value));
    }
    if fields.is_empty() {
        return Err(IntakeError::Malformed("the form body has no fields".into()));
    }
    Ok(unwrap_form_vendors(fields))
}

fn percent_decode_form(raw: &[u8], charset: Option<&str>) -> Result<String, IntakeError> {
    Ok(decode_text(&form_unescape(raw), charset, TextOrigin::Value)?.into_owned())
}

/// `+` as space, then `%XX` decoded (a `%` without two hex digits stays);
/// borrowed when there is nothing to decode, one pass otherwise.
fn form_unescape(raw: &[u8]) -> Cow<'_, [u8]> {
    if !raw.iter().any(|b| matches!(b, b'+' | b'%')) {
        return Cow::Borrowed(raw);
    }
    let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => match (hex(raw.get(i + 1)), hex(raw.get(i + 2))) {
                (Some(high), Some(low)) => {
                    out.push((high * 16 + low) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    Cow::Owned(out)
}

fn parse_multipart(
    body: &[u8],
    boundary: &str,
    charset: Option<&str>,
) -> Result<Submission, IntakeError> {
    let parts = super::multipart::parts(body, boundary)
        .map_err(|err| IntakeError::Malformed(format!("multipart body: {err}")))?;
    let mut fields = Vec::new();
    let mut ignored_files = Vec::new();
    // The HTML spec's `_charset_` field names the encoding of the other fields.
    let mut form_charset = charset.map(str::to_owned);
    for part in parts {
        let name = part.name.unwrap_or_default().into_owned();
        if let Some(file_name) = part.file_name {
            // File parts are ignored by design: a lead is never refused for an attachment.
            ignored_files.push(if file_name.is_empty() {
                name
            } else {
                file_name.into_owned()
            });
            continue;
        }
        let part_charset = part
            .content_type
            .and_then(|ct| ct.parse::<mime::Mime>().ok())
            .and_then(|m| m.get_param(mime::CHARSET).map(|c| c.as_str().to_owned()));
        let value = decode_text(
            part.content,
            part_charset.as_deref().or(form_charset.as_deref()),
            TextOrigin::Value,
        )?
        .into_owned();
        if name == "_charset_"
            && encoding_rs::Encoding::for_label(value.trim().as_bytes()).is_some()
        {
            form_charset = Some(value.trim().to_owned());
        }
        fields.push(SubmittedField::new(name, value));
    }
    if fields.is_empty() && ignored_files.is_empty() {
        return Err(IntakeError::Malformed(
            "the multipart body has no parts".into(),
        ));
    }
    let mut submission = unwrap_form_vendors(fields);
    submission.ignored_files = ignored_files;
    Ok(submission)
}

/// Reads JSON text into a borrowed DOM and hands it to `read`.
///
/// A lone UTF-16 surrogate escape (`"\ud83d"`: what `JSON.stringify` leaves
/// of text cut mid-emoji) is an error to serde_json; such text is read again
/// with U+FFFD in its place. Only on an error: valid JSON is read once.
pub(super) fn read_json<T>(
    text: &str,
    read: impl FnOnce(Value<'_>) -> T,
) -> Result<T, serde_json::Error> {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => Ok(read(value)),
        Err(err) => match replace_lone_surrogates(text) {
            Cow::Borrowed(_) => Err(err),
            Cow::Owned(repaired) => serde_json::from_str::<Value>(&repaired).map(read),
        },
    }
}

/// JSON text with every `\uXXXX` escape of a lone surrogate (high without
/// a low after it, or low without a high before it) replaced by `\ufffd`;
/// borrowed when there is none. Pairs are kept as sent. One pass, and only
/// backslashes are looked at: a `\\` is an escaped backslash, skipped whole.
fn replace_lone_surrogates(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let unit_at = |at: usize| -> Option<u16> {
        let hex = bytes.get(at..at.checked_add(4)?)?;
        u16::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
    };
    let escaped_unit_at = |at: usize| match bytes.get(at..at.checked_add(2)?) {
        Some(b"\\u") => unit_at(at + 2),
        _ => None,
    };
    let is_high = |unit: u16| (0xD800..=0xDBFF).contains(&unit);
    let is_low = |unit: u16| (0xDC00..=0xDFFF).contains(&unit);
    let mut repaired = String::new();
    let mut copied = 0;
    let mut at = 0;
    while let Some(offset) = bytes.get(at..).and_then(|rest| memchr::memchr(b'\\', rest)) {
        let escape = at + offset;
        let Some(unit) = escaped_unit_at(escape) else {
            // Any other escape (`\\` included) is two bytes.
            at = escape + 2;
            continue;
        };
        let lone = if is_high(unit) {
            !escaped_unit_at(escape + 6).is_some_and(is_low)
        } else {
            is_low(unit)
        };
        if !lone {
            // A valid pair is 12 bytes, any other character 6.
            at = escape + if is_high(unit) { 12 } else { 6 };
            continue;
        }
        // Every index here is at an ASCII byte, so at a character boundary.
        repaired.push_str(text.get(copied..escape).unwrap_or_default());
        repaired.push_str("\\ufffd");
        copied = escape + 6;
        at = copied;
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    repaired.push_str(text.get(copied..).unwrap_or_default());
    Cow::Owned(repaired)
}

fn parse_json(text: &str) -> Result<Submission, IntakeError> {
    // A borrowed DOM: the body's strings are not copied until a field keeps
    // one. Members keep the body's order; a name sent twice is kept twice,
    // and the first wins where one value is needed, as in a form.
    read_json(text, submission_of_json)
        .map_err(|err| IntakeError::Malformed(format!("invalid JSON: {err}")))?
}

fn submission_of_json(value: Value<'_>) -> Result<Submission, IntakeError> {
    if depth(&value, 0) > MAX_JSON_DEPTH {
        return Err(IntakeError::Malformed(format!(
            "JSON nested deeper than {MAX_JSON_DEPTH} levels"
        )));
    }
    let Value::Object(root) = value else {
        return Err(IntakeError::Malformed(
            "the JSON body must be an object".into(),
        ));
    };
    if let Some(form_response) = root.member("form_response").and_then(Value::as_object) {
        return Ok(typeform(&root, form_response));
    }
    if let Some(submission) = webflow(&root) {
        return Ok(submission);
    }
    if let Some(submission) = hubspot(&root) {
        return Ok(submission);
    }
    let mut fields = Vec::new();
    flatten("", &root, &mut fields);
    let meeting = booked_meeting(&root);
    Ok(Submission {
        fields,
        delivery_id: meeting.as_ref().map(|m| m.id.clone()),
        meeting,
        ..Submission::default()
    })
}

fn depth(value: &Value, level: usize) -> usize {
    if level > MAX_JSON_DEPTH {
        return level;
    }
    match value {
        Value::Object(map) => map
            .values()
            .map(|v| depth(v, level + 1))
            .max()
            .unwrap_or(level),
        Value::Array(items) => items
            .iter()
            .map(|v| depth(v, level + 1))
            .max()
            .unwrap_or(level),
        _ => level,
    }
}

/// The text of a scalar (or of an array of scalars, comma-joined); `None` for null.
pub(super) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Str(s) => Some(s.as_ref().to_owned()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(number_text(n)),
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => Some(
            items
                .iter()
                .filter_map(scalar_text)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// Flattens nested JSON into `parent.child` and `list[0].child` names; an
/// answer object (`{label, value}`) or a compound phone becomes one field
/// (see [`super::entries`]).
pub(super) fn flatten(prefix: &str, map: &Map<'_>, out: &mut Vec<SubmittedField>) {
    for (key, value) in map.iter() {
        let name = if prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{prefix}.{key}")
        };
        flatten_value(name, Some(key), value, out);
    }
}

/// `key`: the member name `value` sits under (`None` in a list).
fn flatten_value(name: String, key: Option<&str>, value: &Value, out: &mut Vec<SubmittedField>) {
    match value {
        Value::Object(inner) => {
            if let Some(text) = entries::compound_text(inner) {
                out.push(SubmittedField::new(name, text));
            } else if let Some(mut entry) = entries::labelled_entry(key, inner) {
                // Named by its path where it sits under a key, so a rule or
                // the reader still sees where it came from.
                if key.is_some() && !entry.labels.contains(&name) {
                    entry.name = name;
                }
                out.push(entry);
            } else {
                flatten(&name, inner, out);
            }
        }
        Value::Array(items) if items.iter().any(|i| i.is_object() || i.is_array()) => {
            for (index, item) in items.iter().enumerate() {
                flatten_value(format!("{name}[{index}]"), None, item, out);
            }
        }
        other => {
            if let Some(text) = scalar_text(other) {
                out.push(SubmittedField::new(name, text));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str, content_type: Option<&str>) -> Result<Submission, IntakeError> {
        parse_body(body.as_bytes(), content_type)
    }

    fn value_of<'a>(submission: &'a Submission, name: &str) -> Option<&'a str> {
        submission
            .fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value.as_str())
    }

    #[test]
    fn form_unescape_matches_plus_then_percent_decoding() {
        fn reference(raw: &[u8]) -> Vec<u8> {
            let plus_as_space: Vec<u8> = raw
                .iter()
                .map(|b| if *b == b'+' { b' ' } else { *b })
                .collect();
            percent_encoding::percent_decode(&plus_as_space).collect()
        }
        for raw in [
            "",
            "plain",
            "a+b",
            "%41%42",
            "%4",
            "%",
            "%%41",
            "%zz",
            "%+41",
            "100%",
            "%2B+%2b",
            "caf%C3%A9",
            "%e9t%E9",
            "a%2",
            "%0A%0d",
            "++",
            "%4+1",
        ] {
            assert_eq!(
                form_unescape(raw.as_bytes()).into_owned(),
                reference(raw.as_bytes()),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn urlencoded_with_plus_percent_and_empty_values() {
        let s = parse(
            "first_name=Jane+Q&email=jane%40example.com&empty=&flag",
            Some("application/x-www-form-urlencoded"),
        )
        .expect("parses");
        assert_eq!(value_of(&s, "first_name"), Some("Jane Q"));
        assert_eq!(value_of(&s, "email"), Some("jane@example.com"));
        assert_eq!(value_of(&s, "empty"), Some(""));
        assert_eq!(value_of(&s, "flag"), Some(""));
    }

    #[test]
    fn urlencoded_declared_latin1_and_undeclared_cp1252() {
        let latin1 = parse_body(
            b"name=Jos%E9",
            Some("application/x-www-form-urlencoded; charset=ISO-8859-1"),
        )
        .expect("parses");
        assert_eq!(value_of(&latin1, "name"), Some("José"));
        let guessed =
            parse_body(b"name=Jos%E9", Some("application/x-www-form-urlencoded")).expect("parses");
        assert_eq!(value_of(&guessed, "name"), Some("José"));
    }

    #[test]
    fn json_in_utf16_with_declared_charset() {
        let text = r#"{"email":"a@b.co","name":"Zoë"}"#;
        let mut bytes = Vec::new();
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let s = parse_body(&bytes, Some("application/json; charset=utf-16le")).expect("parses");
        assert_eq!(value_of(&s, "name"), Some("Zoë"));
    }

    #[test]
    fn bad_media_types_and_bodies() {
        assert!(matches!(
            parse("<x/>", Some("application/xml")),
            Err(IntakeError::UnsupportedMediaType(_))
        ));
        assert!(matches!(
            parse("{}", Some("application/json; charset=klingon")),
            Err(IntakeError::UnsupportedMediaType(_))
        ));
        assert!(matches!(
            parse("{", Some("application/json")),
            Err(IntakeError::Malformed(_))
        ));
        assert!(matches!(
            parse("[1,2]", Some("application/json")),
            Err(IntakeError::Malformed(_))
        ));
        assert!(matches!(parse("", None), Err(IntakeError::Malformed(_))));
        assert!(matches!(
            parse("x", Some("multipart/form-data")),
            Err(IntakeError::Malformed(_))
        ));
        assert!(matches!(
            parse("garbage", Some("multipart/form-data; boundary=zz")),
            Err(IntakeError::Malformed(_))
        ));
        let deep = format!("{}1{}", "{\"a\":".repeat(40), "}".repeat(40));
        assert!(matches!(
            parse(&deep, Some("application/json")),
            Err(IntakeError::Malformed(_))
        ));
        let invalid_utf8 = parse_body(b"{\"a\":\"\xff\"}", Some("application/json"));
        assert!(matches!(invalid_utf8, Err(IntakeError::Malformed(_))));
    }

    #[test]
    fn sniffs_when_content_type_missing_and_accepts_text_plain_beacons() {
        assert_eq!(
            value_of(
                &parse(r#"{"email":"a@b.co"}"#, None).expect("json"),
                "email"
            ),
            Some("a@b.co")
        );
        assert_eq!(
            value_of(&parse("email=a%40b.co", None).expect("form"), "email"),
            Some("a@b.co")
        );
        let beacon =
            parse(r#"{"email":"a@b.co"}"#, Some("text/plain;charset=UTF-8")).expect("beacon");
        assert_eq!(value_of(&beacon, "email"), Some("a@b.co"));
    }

    #[test]
    fn json_keeps_the_senders_order_numbers_and_repeated_names() {
        let s = parse(
            r#"{"z":1,"a":-2,"f":0.5,"big":1e21,"email":"first@example.com","email":"second@example.com","esc\"aped":"a\nb"}"#,
            Some("application/json"),
        )
        .expect("parses");
        let got: Vec<(&str, &str)> = s
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.value.as_str()))
            .collect();
        let big = serde_json::Number::from_f64(1e21)
            .expect("finite")
            .to_string();
        assert_eq!(
            got,
            vec![
                ("z", "1"),
                ("a", "-2"),
                ("f", "0.5"),
                ("big", big.as_str()),
                ("email", "first@example.com"),
                ("email", "second@example.com"),
                ("esc\"aped", "a\nb"),
            ]
        );
    }

    #[test]
    fn nested_json_is_flattened() {
        let s = parse(
            r#"{"contact":{"email":"a@b.co","tags":["x","y"]},"items":[{"sku":"1"}],"n":3,"ok":true,"none":null}"#,
            Some("application/vnd.api+json"),
        )
        .expect("parses");
        assert_eq!(value_of(&s, "contact.email"), Some("a@b.co"));
        assert_eq!(value_of(&s, "contact.tags"), Some("x, y"));
        assert_eq!(value_of(&s, "items[0].sku"), Some("1"));
        assert_eq!(value_of(&s, "n"), Some("3"));
        assert_eq!(value_of(&s, "ok"), Some("true"));
        assert_eq!(value_of(&s, "none"), None);
    }

    #[test]
    fn multipart_fields_kept_files_ignored() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\njane@example.com\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"cv\"; filename=\"cv.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"message\"\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nolé\r\n--XyZ--\r\n";
        let mut bytes = body.as_bytes().to_vec();
        // Replace the UTF-8 'é' the literal produced with a single Latin-1 byte.
        let pos = bytes
            .windows(2)
            .position(|w| w == "é".as_bytes())
            .expect("é present");
        bytes.splice(pos..pos + 2, [0xe9]);
        let s = parse_body(&bytes, Some("multipart/form-data; boundary=XyZ")).expect("parses");
        assert_eq!(value_of(&s, "email"), Some("jane@example.com"));
        assert_eq!(value_of(&s, "message"), Some("olé"));
        assert_eq!(s.ignored_files, vec!["cv.pdf".to_owned()]);
        assert_eq!(value_of(&s, "cv"), None);
    }
}

#[cfg(test)]
mod hostile {
    use super::*;

    fn parse_bytes(body: &[u8], content_type: &str) -> Result<Submission, IntakeError> {
        parse_body(body, Some(content_type))
    }

    fn pairs(submission: &Submission) -> Vec<(&str, &str)> {
        submission
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.value.as_str()))
            .collect()
    }

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        let cases: &[(&str, &str)] = &[
            // Lone high at the end (JSON.stringify of text cut mid-emoji).
            (r#""Smile \ud83d""#, "Smile \u{fffd}"),
            (r#""\uD83D""#, "\u{fffd}"),
            // Lone low.
            (r#""\udc00x""#, "\u{fffd}x"),
            (r#""a\uDFFF""#, "a\u{fffd}"),
            // Reversed pair: two lone surrogates.
            (r#""\ude00\ud83d""#, "\u{fffd}\u{fffd}"),
            // A valid pair beside a lone one, either side.
            (r#""\ud83d\ud83d\ude00""#, "\u{fffd}\u{1f600}"),
            (r#""\ud83d\ude00\ude00""#, "\u{1f600}\u{fffd}"),
            (r#""\ud83d\ude00\ud83d""#, "\u{1f600}\u{fffd}"),
            // A high followed by another escape, or by a plain character.
            (r#""\ud83d\u0041""#, "\u{fffd}A"),
            (r#""\ud83d\n""#, "\u{fffd}\n"),
            (r#""\ud83d\\""#, "\u{fffd}\\"),
            (r#""\ud83dx""#, "\u{fffd}x"),
            // An escaped backslash before "ud83d" is text, not an escape.
            (r#""\\ud83d \ud83d""#, "\\ud83d \u{fffd}"),
            (r#""\\\ud83d""#, "\\\u{fffd}"),
        ];
        for (json, expected) in cases {
            let body = format!(r#"{{"email":"a@b.co","name":{json}}}"#);
            let submission = parse_bytes(body.as_bytes(), "application/json")
                .unwrap_or_else(|err| panic!("{json}: {err}"));
            assert_eq!(
                pairs(&submission),
                vec![("email", "a@b.co"), ("name", *expected)],
                "{json}"
            );
        }
    }

    #[test]
    fn lone_surrogates_in_keys_nested_values_and_vendor_shapes() {
        let s = parse_bytes(
            br#"{"\ud83dname":"x","contact":{"email":"a@b.co","tags":["\udc00",1]}}"#,
            "application/json",
        )
        .expect("parses");
        assert_eq!(
            pairs(&s),
            vec![
                ("\u{fffd}name", "x"),
                ("contact.email", "a@b.co"),
                ("contact.tags", "\u{fffd}, 1"),
            ]
        );
        // HubSpot's Forms API shape, sent as text/plain by a beacon.
        let s = parse_bytes(
            br#"{"fields":[{"name":"email","value":"a@b.co"},{"name":"message","value":"Hi \ud83d"}]}"#,
            "text/plain;charset=UTF-8",
        )
        .expect("parses");
        assert_eq!(
            pairs(&s),
            vec![("email", "a@b.co"), ("message", "Hi \u{fffd}")]
        );
        // Declared UTF-16: the escapes are read after decoding, the same way.
        let text = r#"{"email":"a@b.co","name":"\ud83d"}"#;
        let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let s = parse_bytes(&utf16, "application/json; charset=utf-16le").expect("parses");
        assert_eq!(pairs(&s), vec![("email", "a@b.co"), ("name", "\u{fffd}")]);
        // Unbounce's data.json field holds JSON too.
        let s = parse_bytes(
            b"page_id=1&data.json=%7B%22email%22%3A%5B%22a%40b.co%22%5D%2C%22name%22%3A%5B%22Jo%5Cud83d%22%5D%7D",
            "application/x-www-form-urlencoded",
        )
        .expect("parses");
        assert_eq!(
            pairs(&s),
            vec![
                ("page_id", "1"),
                ("email", "a@b.co"),
                ("name", "Jo\u{fffd}")
            ]
        );
    }

    #[test]
    fn broken_json_with_a_lone_surrogate_is_still_refused() {
        for body in [
            r#"{"a":"\ud83d""#,
            r#"{"a":"\ud83d",}"#,
            r#"["\ud83d"]"#,
            r#"{"a":"\u12"}"#,
            r#"{"a":"\ud83d\u12"}"#,
            "{\"a\":\"\\",
        ] {
            assert!(
                matches!(
                    parse_bytes(body.as_bytes(), "application/json"),
                    Err(IntakeError::Malformed(_))
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn valid_json_is_not_copied_for_surrogates() {
        for text in [
            r#"{"a":"plain"}"#,
            r#"{"a":"\ud83d\ude00 \\ud83d \n \u00e9"}"#,
            r#"{"a":"\\"}"#,
            "{\"a\":\"\\",
        ] {
            assert!(
                matches!(replace_lone_surrogates(text), Cow::Borrowed(_)),
                "{text}"
            );
        }
        assert_eq!(
            replace_lone_surrogates(r#"{"a":"\ud83d","\udc00":1}"#),
            r#"{"a":"\ufffd","\ufffd":1}"#
        );
    }

    /// Bytes FF FE at the start of one value are that value's bytes, not a
    /// byte order mark choosing UTF-16 for it.
    #[test]
    fn a_value_starting_ff_fe_does_not_choose_its_encoding() {
        // Undeclared and not UTF-8: windows-1252, as for any such form.
        let s = parse_bytes(
            b"email=a%40b.co&note=%FF%FEhi",
            "application/x-www-form-urlencoded",
        )
        .expect("parses");
        assert_eq!(
            pairs(&s),
            vec![("email", "a@b.co"), ("note", "\u{ff}\u{fe}hi")]
        );
        // Declared UTF-8: the two bytes are invalid, and replaced.
        let s = parse_bytes(
            b"email=a%40b.co&note=%FF%FEhi",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .expect("parses");
        assert_eq!(
            pairs(&s),
            vec![("email", "a@b.co"), ("note", "\u{fffd}\u{fffd}hi")]
        );
        // A name too, and FE FF (big-endian) as well.
        let s = parse_bytes(
            b"email=a%40b.co&%FE%FFx=1",
            "application/x-www-form-urlencoded",
        )
        .expect("parses");
        assert_eq!(pairs(&s), vec![("email", "a@b.co"), ("\u{fe}\u{ff}x", "1")]);
        // A multipart part, with and without a declared charset.
        let mut body = b"--B\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\na@b.co\r\n\
--B\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n\xff\xfehi\r\n\
--B\r\nContent-Disposition: form-data; name=\"other\"\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n\xff\xfehi\r\n"
            .to_vec();
        body.extend_from_slice(b"--B--\r\n");
        let s = parse_bytes(&body, "multipart/form-data; boundary=B").expect("parses");
        assert_eq!(
            pairs(&s),
            vec![
                ("email", "a@b.co"),
                ("note", "\u{ff}\u{fe}hi"),
                ("other", "\u{ff}\u{fe}hi"),
            ]
        );
        // A value's own encoding's BOM is dropped, as before: it chooses nothing.
        let s = parse_bytes(
            b"email=a%40b.co&name=%EF%BB%BFJane",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .expect("parses");
        assert_eq!(pairs(&s), vec![("email", "a@b.co"), ("name", "Jane")]);
    }

    /// A whole body's leading BOM may still choose the encoding.
    #[test]
    fn a_whole_bodys_leading_bom_chooses_the_encoding() {
        let form = "email=a%40b.co&name=Zo%C3%AB+%E2%9C%93";
        let expected = vec![("email", "a@b.co"), ("name", "Zoë ✓")];
        let utf8: Vec<u8> = b"\xef\xbb\xbf"
            .iter()
            .copied()
            .chain(form.bytes())
            .collect();
        let utf16le: Vec<u8> = b"\xff\xfe"
            .iter()
            .copied()
            .chain(form.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let utf16be: Vec<u8> = b"\xfe\xff"
            .iter()
            .copied()
            .chain(form.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        for (label, body) in [
            ("utf-8", &utf8),
            ("utf-16le", &utf16le),
            ("utf-16be", &utf16be),
        ] {
            for content_type in [
                "application/x-www-form-urlencoded",
                "application/x-www-form-urlencoded; charset=iso-8859-1",
            ] {
                let s = parse_bytes(body, content_type)
                    .unwrap_or_else(|err| panic!("{label}, {content_type}: {err}"));
                assert_eq!(pairs(&s), expected, "{label}, {content_type}");
            }
        }
        // Multipart: a UTF-8 BOM before the first boundary.
        let s = parse_bytes(
            b"\xef\xbb\xbf--B\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\na@b.co\r\n--B--\r\n",
            "multipart/form-data; boundary=B",
        )
        .expect("parses");
        assert_eq!(pairs(&s), vec![("email", "a@b.co")]);
        // JSON and text/plain bodies, as before.
        let json: Vec<u8> = b"\xff\xfe"
            .iter()
            .copied()
            .chain(r#"{"email":"a@b.co"}"#.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        for content_type in ["application/json", "text/plain"] {
            let s = parse_bytes(&json, content_type).expect("parses");
            assert_eq!(pairs(&s), vec![("email", "a@b.co")], "{content_type}");
        }
    }

    fn elementor_body(ids: usize) -> String {
        let mut body = String::from("form%5Bname%5D=Contact+Form");
        for i in 0..ids {
            body.push_str(&format!(
                "&fields%5Bf{i}%5D%5Btitle%5D=Question+{i}&fields%5Bf{i}%5D%5Bvalue%5D=answer+{i}&fields%5Bf{i}%5D%5Btype%5D=text"
            ));
        }
        body.push_str("&fields%5Bemail%5D%5Bvalue%5D=a%40b.co&fields%5Bemail%5D%5Btype%5D=email");
        body
    }

    #[test]
    fn elementor_with_12000_ids_parses_in_order() {
        let body = elementor_body(12_000);
        assert!(body.len() > 250_000, "{} bytes", body.len());
        let s = parse_bytes(body.as_bytes(), "application/x-www-form-urlencoded").expect("parses");
        assert_eq!(s.fields.len(), 12_002);
        for (i, field) in s.fields.iter().take(12_000).enumerate() {
            assert_eq!(field.name, format!("f{i}"));
            assert_eq!(field.value, format!("answer {i}"));
            assert_eq!(field.labels, vec![format!("Question {i}")]);
        }
        let email = &s.fields[12_000];
        assert_eq!(
            (email.name.as_str(), email.value.as_str(), email.kind),
            ("email", "a@b.co", Some(FieldKind::Email))
        );
        assert_eq!(
            (
                s.fields[12_001].name.as_str(),
                s.fields[12_001].value.as_str()
            ),
            ("form_name", "Contact Form")
        );
    }

    /// Ids in order of first appearance, whichever attribute came first; a
    /// later value replaces an earlier one; an id without a value is dropped.
    #[test]
    fn elementor_ids_keep_first_appearance_order() {
        let body = "fields[b][title]=B&meta[page_url][value]=https%3A%2F%2Fx.example&fields[a][value]=1\
                    &other[k][v]=o&fields[b][value]=2&fields[c][title]=only+a+title&fields[a][value]=3\
                    &fields[a][type]=tel&plain=p&form[id]=9";
        let s = parse_bytes(body.as_bytes(), "application/x-www-form-urlencoded").expect("parses");
        assert_eq!(
            pairs(&s),
            vec![
                ("b", "2"),
                ("page_url", "https://x.example"),
                ("a", "3"),
                ("other_k", "o"),
                ("plain", "p"),
                ("form_id", "9"),
            ]
        );
        assert_eq!(s.fields[0].labels, vec!["B".to_owned()]);
        assert_eq!(s.fields[2].kind, Some(FieldKind::Phone));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn names() -> impl Strategy<Value = String> {
        // Names that stay plain fields (no vendor wrappers such as `fields[…]` or `data.json`).
        "[a-z][a-z0-9_ ]{0,15}"
    }

    proptest! {
        #[test]
        fn urlencoded_round_trips(fields in proptest::collection::vec((names(), any::<String>()), 1..12)) {
            let body: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(fields.iter().map(|(n, v)| (n.as_str(), v.as_str())))
                .finish();
            let parsed = parse_body(body.as_bytes(), Some("application/x-www-form-urlencoded; charset=utf-8"))
                .expect("a form we encoded parses");
            let got: Vec<(String, String)> = parsed.fields.into_iter().map(|f| (f.name, f.value)).collect();
            prop_assert_eq!(got, fields);
        }

        #[test]
        fn json_objects_of_strings_round_trip(fields in proptest::collection::btree_map(names(), any::<String>(), 1..12)) {
            let body = serde_json::to_vec(&fields).expect("json");
            let parsed = parse_body(&body, Some("application/json")).expect("parses");
            let got: std::collections::BTreeMap<String, String> = parsed.fields.into_iter().map(|f| (f.name, f.value)).collect();
            prop_assert_eq!(got, fields);
        }

        /// Any sequence of UTF-16 units sent as `\u` escapes reads as
        /// `String::from_utf16_lossy` reads them: lone surrogates become U+FFFD.
        #[test]
        fn escaped_utf16_units_read_as_lossy_utf16(
            units in proptest::collection::vec(
                prop_oneof![any::<u16>(), 0xd800u16..0xe000, Just(0xd83d), Just(0xde00)],
                0..24,
            ),
            upper in any::<bool>(),
        ) {
            let escaped: String = units
                .iter()
                .map(|u| if upper { format!("\\u{u:04X}") } else { format!("\\u{u:04x}") })
                .collect();
            let body = format!(r#"{{"email":"a@b.co","v":"{escaped}"}}"#);
            let parsed = parse_body(body.as_bytes(), Some("application/json"))
                .expect("parses");
            let value = parsed.fields.iter().find(|f| f.name == "v").map(|f| f.value.clone());
            prop_assert_eq!(value, Some(String::from_utf16_lossy(&units)));
        }

        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512), kind in 0usize..5) {
            let content_type = ["application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain", "application/json; charset=utf-16"][kind];
            let _ = parse_body(&body, Some(content_type));
        }
    }
}
