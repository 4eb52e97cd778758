//! Item sizes: every lead with a way to reach the person is stored, the
//! whole item within DynamoDB's limit, with what was cut named on it. The
//! leads come from the intake's own parser, so its bounds and the item's
//! fitting are tested together.

use time::macros::datetime;

use firsthour::intake::body::{self, Submission};
use firsthour::intake::{IntakeContext, IntakeError, Normalised, build_lead, limits, normalise};
use firsthour::lead::{RequestMeta, Source};
use firsthour::record::LeadRecord;

use super::LeadItem;

const FORM: &str = "application/x-www-form-urlencoded";

fn email(n: &Normalised) -> Option<&str> {
    n.lead.contact.email.as_ref().map(|e| e.as_str())
}

fn normalise_with(body: &[u8], content_type: &str) -> Result<Normalised, IntakeError> {
    normalise_within(body, content_type, limits::DEFAULT_MAX_BODY_BYTES)
}

fn normalise_within(
    body: &[u8],
    content_type: &str,
    max_body_bytes: usize,
) -> Result<Normalised, IntakeError> {
    let source = Source::parse("test").expect("valid source");
    let meta = RequestMeta {
        client_ip: Some("192.0.2.1".into()),
        user_agent: Some("curl/8".into()),
        delivery_id: None,
    };
    let context = IntakeContext {
        source: &source,
        meta: &meta,
        mapping: None,
        max_body_bytes,
        received_at: datetime!(2026-11-22 14:24:11.123 UTC),
    };
    normalise(body, Some(content_type), context)
}

fn item_of(n: &Normalised) -> LeadItem {
    let file = firsthour::config::FileConfig::default();
    let (sector, route) = firsthour::service::intake::classify(&n.lead, &file);
    LeadItem::stored(LeadRecord::new_received(
        &n.lead,
        &sector,
        &route,
        n.lead.received_at,
        n.lead.received_at,
        None,
    ))
}

/// The item fits with the later writes' headroom, and so do the markers
/// and the event made from the same lead.
fn assert_fits(n: &Normalised) -> LeadItem {
    let item = item_of(n);
    let size = item.size().expect("measurable");
    assert!(
        size <= limits::LEAD_ITEM_BUDGET,
        "item of {size} bytes over the budget of {}",
        limits::LEAD_ITEM_BUDGET
    );
    let file = firsthour::config::FileConfig::default();
    let (sector, route) = firsthour::service::intake::classify(&n.lead, &file);
    for key in [
        firsthour::dedup::content_key(&n.lead, &file.spam),
        firsthour::dedup::delivery_key(
            &n.lead.source,
            n.lead.delivery_id.as_deref().unwrap_or("d"),
        ),
    ] {
        let marker = crate::table::DedupItem::from(&firsthour::dedup::DedupMarker::new(
            firsthour::dedup::DedupKind::Content,
            &key,
            &n.lead,
            &firsthour::dedup::sha256_hex(b"body"),
            std::time::Duration::from_secs(600),
        ));
        assert!(super::size::item_size(&marker).expect("measurable") < 1024);
    }
    let event = firsthour::events::OutboundEvent::from(&firsthour::events::LeadReceived::of(
        &n.lead, &sector, &route,
    ));
    let entry =
        firsthour::events::EVENT_SOURCE.len() + event.detail_type.len() + event.detail.len() + 14;
    assert!(entry < 4096, "LeadReceived of {entry} bytes");
    assert!(entry <= limits::EVENTBRIDGE_ENTRY_LIMIT);
    item
}

fn normalise_big(body: &[u8], content_type: &str) -> Result<Normalised, IntakeError> {
    // The most FIRSTHOUR_MAX_BODY_BYTES allows.
    normalise_within(body, content_type, 6 * 1024 * 1024)
}

#[test]
fn a_windows_1252_body_of_euro_bytes_is_stored_cut_to_fit() {
    // 140 KB of 0x80, undeclared charset: read as windows-1252, each byte
    // becomes the 3 bytes of '€' (420 KB of text), most of it in the phone.
    let mut body = b"email=jane%40example.com&phone=202-555-0143x".to_vec();
    body.extend(std::iter::repeat_n(0x80u8, 100 * 1024));
    body.extend_from_slice(b"&message=");
    body.extend(std::iter::repeat_n(0x80u8, 40 * 1024));
    assert!(std::str::from_utf8(&body).is_err());
    let n = normalise_with(&body, FORM).expect("stored");
    assert_eq!(email(&n), Some("jane@example.com"));
    assert_eq!(n.lead.contact.phone.as_deref(), Some("202-555-0143"));
    let item = assert_fits(&n);
    assert_eq!(item.truncated, vec!["phone", "message", "fields"]);
    assert!(item.fields_truncated);
    assert!(item.message.as_deref().is_some_and(|m| m.starts_with('€')));

    // The whole body one phone, as the lead that was lost.
    let mut body = b"email=jane%40example.com&phone=2025550143x".to_vec();
    body.extend(std::iter::repeat_n(0x80u8, 140 * 1024));
    let item = assert_fits(&normalise_with(&body, FORM).expect("stored"));
    assert_eq!(item.truncated, vec!["phone", "fields"]);

    // A body four times the default limit (as FIRSTHOUR_MAX_BODY_BYTES may
    // allow), all of it 0x80.
    let mut body = b"email=jane%40example.com&message=".to_vec();
    body.extend(std::iter::repeat_n(0x80u8, 1024 * 1024 - body.len()));
    let item = assert_fits(&normalise_big(&body, FORM).expect("stored"));
    assert_eq!(item.truncated, vec!["message", "fields"]);
}

#[test]
fn a_huge_phone_extension_keeps_the_number() {
    let body = format!(
        "email=jane%40example.com&phone=%2B1+202+555+0143+ext+{}",
        "7".repeat(200_000)
    );
    let n = normalise_with(body.as_bytes(), FORM).expect("stored");
    assert_eq!(n.lead.contact.phone.as_deref(), Some("+1 202 555 0143"));
    assert!(
        n.warnings
            .iter()
            .any(|w| w.starts_with("phone extension ignored")),
        "{:?}",
        n.warnings
    );
    let item = assert_fits(&n);
    assert_eq!(item.truncated, vec!["phone", "fields"]);

    // Phone only: the number is the way to reach the person, so it is stored.
    let body = format!("name=Jo&phone=2025550143x{}", "9".repeat(200_000));
    let n = normalise_with(body.as_bytes(), FORM).expect("stored");
    assert_eq!(n.lead.contact.email, None);
    assert_eq!(n.lead.contact.phone.as_deref(), Some("2025550143"));
    assert_fits(&n);
}

#[test]
fn a_256000_byte_file_name_is_cut() {
    let name = "a".repeat(256_000);
    let body = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\njane@example.com\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"cv\"; filename=\"{name}.pdf\"\r\n\
Content-Type: application/pdf\r\n\r\n%PDF-1.4\r\n--XyZ--\r\n"
    );
    let n = normalise_with(body.as_bytes(), "multipart/form-data; boundary=XyZ").expect("stored");
    assert_eq!(n.lead.ignored_files.len(), 1);
    assert_eq!(n.lead.ignored_files[0].len(), limits::MAX_FILE_NAME_BYTES);
    let item = assert_fits(&n);
    assert_eq!(item.truncated, vec!["ignored_files"]);
}

#[test]
fn two_hundred_fields_of_16_kb_are_cut_to_fit() {
    let mut body = String::from("email=jane%40example.com");
    for i in 0..200 {
        body.push_str(&format!("&answer_{i:03}={}", "€".repeat(16 * 1024 / 3)));
    }
    let n = normalise_big(body.as_bytes(), FORM).expect("stored");
    assert_eq!(n.lead.fields.len(), limits::MAX_FIELDS);
    let item = assert_fits(&n);
    assert_eq!(item.truncated, vec!["fields"]);
    let raw: usize = item
        .fields
        .iter()
        .map(|f| f.name.len() + f.value.len())
        .sum();
    assert!(raw <= limits::MAX_RAW_TOTAL_BYTES);
    // Every answer keeps its name and its start; the short email stays whole.
    assert_eq!(item.fields[0].value, "jane@example.com");
    assert!(
        item.fields[1..].iter().all(|f| f.value.len() > 500),
        "{}",
        item.fields[199].value.len()
    );
}

#[test]
fn every_bounded_value_of_a_lead_at_once_still_fits() {
    // Over every bound: a value, a name, the raw total with a few fields.
    let long = "𝄞".repeat(40_000);
    let mut fields: Vec<body::SubmittedField> = [
        "email",
        "first_name",
        "last_name",
        "company",
        "job_title",
        "message",
        "page_url",
        "referrer",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
        "organization_type",
        "phone",
    ]
    .into_iter()
    .map(|name| body::SubmittedField::new(name, long.clone()))
    .collect();
    fields[0].value = "jane@example.com".into();
    fields[13].value = format!("Federal {long}");
    fields[13].labels.push(long.clone());
    fields[14].value = format!("2025550143 x{long}");
    for i in 0..400 {
        let mut field = body::SubmittedField::new(format!("{i}{long}"), long.clone());
        field.labels.push(long.clone());
        fields.push(field);
    }
    let submission = Submission {
        fields,
        ignored_files: vec![long.clone(); 100],
        delivery_id: Some(long.clone()),
        meeting: None,
    };
    let source = Source::parse("test").expect("valid source");
    let meta = RequestMeta {
        client_ip: Some(long.clone()),
        user_agent: Some(long.clone()),
        delivery_id: None,
    };
    let n = build_lead(
        submission,
        IntakeContext {
            source: &source,
            meta: &meta,
            mapping: None,
            max_body_bytes: usize::MAX,
            received_at: datetime!(2026-11-22 14:24:11.123 UTC),
        },
    )
    .expect("stored");
    let item = assert_fits(&n);
    for cut in [
        "first_name",
        "message",
        "phone",
        "fields",
        "ignored_files",
        "delivery_id",
    ] {
        assert!(
            item.truncated.iter().any(|t| t == cut),
            "{cut}: {:?}",
            item.truncated
        );
    }
}

mod property {
    use proptest::prelude::*;

    use super::*;

    /// A text of `len` copies of one character: ASCII, 2-, 3- and 4-byte
    /// UTF-8, invisible and direction-changing characters, control bytes.
    fn text() -> impl Strategy<Value = String> {
        (
            prop::sample::select(vec![
                'a', 'é', '€', '𝄞', '\u{202E}', '\u{200B}', '\n', '7', ' ',
            ]),
            prop_oneof![0usize..40, 0usize..2_000, 0usize..70_000],
        )
            .prop_map(|(c, len)| std::iter::repeat_n(c, len).collect())
    }

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "email",
                "phone",
                "message",
                "name",
                "company",
                "title",
                "organization_type",
                "utm_source",
                "_rendered_at",
                "Email ",
                "notes",
            ])
            .prop_map(str::to_owned),
            text(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Any lead built from arbitrary fields fits one item with room for
        /// the later writes, and one with a way to reach the person is stored.
        #[test]
        fn any_lead_fits_one_item(
            fields in prop::collection::vec((name(), text(), prop::option::of(text())), 0..260),
            files in prop::collection::vec(text(), 0..30),
            delivery_id in prop::option::of(text()),
            user_agent in prop::option::of(text()),
            reachable in prop::sample::select(vec!["email", "phone", "both"]),
        ) {
            let mut submitted: Vec<body::SubmittedField> = Vec::new();
            if reachable != "phone" {
                submitted.push(body::SubmittedField::new("email", "jane@example.com"));
            }
            if reachable != "email" {
                submitted.push(body::SubmittedField::new("phone", "+1 202 555 0143"));
            }
            submitted.extend(fields.into_iter().map(|(name, value, label)| {
                let mut field = body::SubmittedField::new(name, value);
                field.labels.extend(label);
                field
            }));
            let source = Source::parse("test").expect("valid source");
            let meta = RequestMeta {
                client_ip: Some("192.0.2.1".into()),
                user_agent,
                delivery_id: None,
            };
            let n = build_lead(
                Submission { fields: submitted, ignored_files: files, delivery_id, meeting: None },
                IntakeContext {
                    source: &source,
                    meta: &meta,
                    mapping: None,
                    max_body_bytes: usize::MAX,
                    received_at: datetime!(2026-11-22 14:24:11.123 UTC),
                },
            );
            let n = n.map_err(|err| TestCaseError::fail(err.to_string()))?;
            prop_assert!(n.lead.contact.is_reachable());
            let item = item_of(&n);
            let size = item.size().map_err(|err| TestCaseError::fail(err.to_string()))?;
            prop_assert!(size <= limits::LEAD_ITEM_BUDGET, "{size}");
            prop_assert_eq!(item.fields_truncated, !item.truncated.is_empty());
        }
    }
}
