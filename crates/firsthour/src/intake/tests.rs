//! Normalisation of the documented webhook shapes of each form vendor.

use time::macros::datetime;

use super::*;

const WEBHOOKS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/webhooks");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{WEBHOOKS}/{name}"))
        .unwrap_or_else(|err| panic!("fixture {name}: {err}"))
}

fn normalise_with(
    body: &[u8],
    content_type: &str,
    mapping: Option<&FieldMapping>,
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
        mapping,
        max_body_bytes: limits::DEFAULT_MAX_BODY_BYTES,
        received_at: datetime!(2026-11-22 14:24:11.123 UTC),
    };
    normalise(body, Some(content_type), context)
}

fn lead_of(name: &str, content_type: &str) -> Normalised {
    normalise_with(&fixture(name), content_type, None).unwrap_or_else(|err| panic!("{name}: {err}"))
}

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

fn email(n: &Normalised) -> Option<&str> {
    n.lead.contact.email.as_ref().map(|e| e.as_str())
}

#[test]
fn typeform_answers_and_hidden_fields() {
    let n = lead_of("typeform.json", JSON);
    let c = &n.lead.contact;
    assert_eq!(email(&n), Some("laura.diaz@gsa.gov"));
    assert_eq!(c.first_name.as_deref(), Some("Laura"));
    assert_eq!(c.last_name.as_deref(), Some("Diaz"));
    assert_eq!(c.full_name.as_deref(), Some("Laura Diaz"));
    assert_eq!(c.phone.as_deref(), Some("+12025550143"));
    assert_eq!(
        c.company.as_deref(),
        Some("General Services Administration")
    );
    assert_eq!(c.utm.source.as_deref(), Some("linkedin"));
    assert_eq!(c.utm.campaign.as_deref(), Some("gov-q4"));
    assert!(c.message.as_deref().is_some_and(|m| m.contains("40 seats")));
    assert_eq!(
        n.lead.delivery_id.as_deref(),
        Some("01JDX3K2V7T8Q9W0E1R2T3Y4U5")
    );
    let raw = |name: &str| {
        n.lead
            .fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value.as_str())
    };
    assert_eq!(
        raw("01FKQZ2EB3B1U0Q0ZRZC8VGRHXX"),
        Some("Federal Government")
    );
    assert_eq!(
        raw("01FKQZ2EB4C2V1Q0ZRZC8VGRHXY"),
        Some("Analytics, Support plan")
    );
    assert_eq!(raw("01FKQZ2EB6E4X3Q0ZRZC8VGRHY0"), Some("1200"));
}

#[test]
fn webflow_form_submission() {
    let n = lead_of("webflow.json", JSON);
    let c = &n.lead.contact;
    assert_eq!(email(&n), Some("zaphod@heartofgold.ai"));
    assert_eq!(c.first_name.as_deref(), Some("Zaphod"));
    assert_eq!(c.phone.as_deref(), Some("+1 555 010 9999"));
    assert_eq!(c.company.as_deref(), Some("Heart of Gold"));
    assert_eq!(
        n.lead.delivery_id.as_deref(),
        Some("6321ca84df3949bfc6752327")
    );
    assert!(
        n.lead
            .fields
            .iter()
            .any(|f| f.name == "form_name" && f.value == "Contact Us")
    );
}

#[test]
fn hubspot_forms_api_and_contact_shapes() {
    let forms = lead_of("hubspot-forms.json", JSON);
    let c = &forms.lead.contact;
    assert_eq!(email(&forms), Some("pat.nguyen@example.com"));
    assert_eq!(c.job_title.as_deref(), Some("VP Operations"));
    assert_eq!(
        c.page_url.as_deref(),
        Some("https://www.example.com/pricing")
    );
    assert_eq!(c.full_name.as_deref(), Some("Pat Nguyen"));

    let contact = lead_of("hubspot-contact.json", JSON);
    assert_eq!(email(&contact), Some("sam.ortiz@county.example.us"));
    assert_eq!(
        contact.lead.contact.company.as_deref(),
        Some("Example County")
    );
}

#[test]
fn gravity_forms_ids_need_a_mapping_but_the_email_is_found_anyway() {
    let unmapped = lead_of("gravityforms.json", JSON);
    assert_eq!(email(&unmapped), Some("grace.hopper@navy.mil"));
    assert_eq!(
        unmapped.lead.contact.page_url.as_deref(),
        Some("https://www.example.com/contact/")
    );

    let mapping: FieldMapping = [
        ("1.3", LeadField::FirstName),
        ("1.6", LeadField::LastName),
        ("2", LeadField::Email),
        ("3", LeadField::Phone),
        ("4", LeadField::Message),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let mapped =
        normalise_with(&fixture("gravityforms.json"), JSON, Some(&mapping)).expect("mapped");
    let c = &mapped.lead.contact;
    assert_eq!(c.full_name.as_deref(), Some("Grace Hopper"));
    assert_eq!(c.phone.as_deref(), Some("(703) 555-0100"));
    assert!(c.message.is_some());
}

#[test]
fn unbounce_data_json_is_unwrapped() {
    let n = lead_of("unbounce.urlencoded", FORM);
    let c = &n.lead.contact;
    assert_eq!(email(&n), Some("jane.doe@example.com"));
    assert_eq!(c.full_name.as_deref(), Some("Jane Doe"));
    assert_eq!(c.company.as_deref(), Some("Acme Corp"));
    assert_eq!(c.phone.as_deref(), Some("+1 (555) 010-2222"));
    assert_eq!(c.page_url.as_deref(), Some("https://lp.example.com/demo"));
    assert!(
        !n.lead
            .fields
            .iter()
            .any(|f| f.name == "data.json" || f.name == "data.xml")
    );
}

#[test]
fn elementor_advanced_data() {
    let n = lead_of("elementor.urlencoded", FORM);
    let c = &n.lead.contact;
    assert_eq!(email(&n), Some("ada@example.org"));
    assert_eq!(c.full_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(c.phone.as_deref(), Some("020 7946 0000"));
    assert_eq!(c.message.as_deref(), Some("Please send pricing."));
    assert_eq!(
        c.page_url.as_deref(),
        Some("https://www.example.org/contact/")
    );
    assert!(
        n.lead
            .fields
            .iter()
            .any(|f| f.name == "form_name" && f.value == "Contact Form")
    );
}

#[test]
fn salesforce_web_to_lead() {
    let n = lead_of("salesforce-web-to-lead.urlencoded", FORM);
    let c = &n.lead.contact;
    assert_eq!(email(&n), Some("ada@example.org"));
    assert_eq!(c.first_name.as_deref(), Some("Ada"));
    assert_eq!(c.last_name.as_deref(), Some("Lovelace"));
    assert_eq!(c.company.as_deref(), Some("Analytical Engines Ltd"));
    assert_eq!(c.job_title.as_deref(), Some("CTO"));
    assert_eq!(c.message.as_deref(), Some("Please call me."));
    assert_eq!(
        n.redirect_url.as_deref(),
        Some("https://www.example.com/thanks")
    );
    assert!(
        n.lead
            .fields
            .iter()
            .any(|f| f.name == "00N5e00000AbCdE" && f.value == "Federal")
    );
}

#[test]
fn zapier_flat_json_and_plain_html_form() {
    let z = lead_of("zapier.json", JSON);
    assert_eq!(
        z.lead.contact.message.as_deref(),
        Some("Olá! Gostaria de uma proposta.")
    );
    assert_eq!(z.lead.contact.utm.medium.as_deref(), Some("cpc"));
    assert_eq!(z.lead.contact.job_title.as_deref(), Some("Head of Sales"));

    let h = lead_of("html-form.urlencoded", FORM);
    assert_eq!(h.lead.contact.company.as_deref(), Some("Park & Sons"));
    assert_eq!(
        h.lead.contact.message.as_deref(),
        Some("Hi!\r\nWe need help.")
    );
    assert_eq!(
        h.redirect_url.as_deref(),
        Some("https://www.example.com/thank-you")
    );
    assert_eq!(h.lead.client_ip.as_deref(), Some("192.0.2.1"));
}

#[test]
fn unreachable_leads_are_unprocessable() {
    let err = normalise_with(br#"{"name":"No Contact"}"#, JSON, None).expect_err("422");
    assert!(
        matches!(err, IntakeError::Unprocessable { field: "email", .. }),
        "{err}"
    );
    let err = normalise_with(br#"{"email":"not-an-address"}"#, JSON, None).expect_err("422");
    assert!(
        matches!(err, IntakeError::Unprocessable { field: "email", .. }),
        "{err}"
    );
    let err = normalise_with(br#"{"phone":"call me"}"#, JSON, None).expect_err("422");
    assert!(
        matches!(err, IntakeError::Unprocessable { field: "phone", .. }),
        "{err}"
    );
}

#[test]
fn a_bad_email_beside_a_good_phone_keeps_the_lead_with_a_warning() {
    let n = normalise_with(
        br#"{"email":"jane@","phone":"+1 202 555 0101"}"#,
        JSON,
        None,
    )
    .expect("kept");
    assert_eq!(n.lead.contact.email, None);
    assert_eq!(n.lead.contact.phone.as_deref(), Some("+1 202 555 0101"));
    assert_eq!(n.warnings.len(), 1);
    assert!(
        n.lead.fields.iter().any(|f| f.value == "jane@"),
        "raw value kept"
    );
}

#[test]
fn oversized_bodies_are_refused_before_parsing() {
    let body = vec![b'{'; limits::DEFAULT_MAX_BODY_BYTES + 1];
    let err = normalise_with(&body, JSON, None).expect_err("413");
    assert!(matches!(err, IntakeError::PayloadTooLarge { .. }));
}

#[test]
fn raw_fields_and_texts_are_bounded_to_fit_one_item() {
    let huge = "x".repeat(40 * 1024);
    let mut body = serde_json::Map::new();
    body.insert("email".into(), "a@example.com".into());
    body.insert("message".into(), huge.clone().into());
    body.insert("company".into(), huge.clone().into());
    for i in 0..300 {
        body.insert(format!("extra_{i:03}"), "y".repeat(400).into());
    }
    let bytes = serde_json::to_vec(&body).expect("json");
    let n = normalise_with(&bytes, JSON, None).expect("kept, truncated");
    assert_eq!(n.lead.truncated, vec!["message", "company", "fields"]);
    assert!(n.lead.fields.len() <= limits::MAX_FIELDS);
    let raw_total: usize = n
        .lead
        .fields
        .iter()
        .map(|f| f.name.len() + f.value.len())
        .sum();
    assert!(raw_total <= limits::MAX_RAW_TOTAL_BYTES);
    assert_eq!(
        n.lead.contact.message.as_ref().map(String::len),
        Some(limits::MAX_MESSAGE_BYTES)
    );
    assert_eq!(
        n.lead.contact.company.as_ref().map(String::len),
        Some(limits::MAX_SHORT_TEXT_BYTES)
    );
}

#[test]
fn control_characters_never_reach_short_fields() {
    let n = normalise_with(
        "email=a%40example.com&name=Eve%0D%0ABcc%3A+x%40evil.example&company=A%00B".as_bytes(),
        FORM,
        None,
    )
    .expect("kept");
    assert_eq!(
        n.lead.contact.full_name.as_deref(),
        Some("Eve Bcc: x@evil.example")
    );
    assert_eq!(n.lead.contact.company.as_deref(), Some("A B"));
}

#[test]
fn phone_validation() {
    for (ok, stored) in [
        ("+1 (202) 555-0143", "+1 (202) 555-0143"),
        ("020 7946 0000", "020 7946 0000"),
        ("202.555.0143 ext 12", "202.555.0143 ext. 12"),
        ("202.555.0143 Ext. 12", "202.555.0143 ext. 12"),
        ("202.555.0143 extension: 12", "202.555.0143 ext. 12"),
        ("tel:+4420794600", "+4420794600"),
        ("TEL:+4420794600", "+4420794600"),
        ("5550143x7", "5550143 ext. 7"),
        ("5550143 x 1234567890", "5550143 ext. 1234567890"),
        // Direction marks a number copied from a contact card carries.
        ("\u{202A}+1 202 555 0143\u{202C}", "+1 202 555 0143"),
        ("\u{202E}5550143", "5550143"),
    ] {
        assert_eq!(
            clean_phone(ok),
            Ok(CleanPhone {
                number: stored.into(),
                extension_dropped: false
            }),
            "{ok}"
        );
    }
    for bad in [
        "call me",
        "12345",
        "555-0143; DROP TABLE",
        "1234567890123456789012",
        "<script>",
        "1-800-FLOWERS",
    ] {
        assert!(clean_phone(bad).is_err(), "{bad}");
    }
    assert_eq!(
        clean_phone(&format!("{}5550143", " (".repeat(30))),
        Err(InvalidPhone::TooLong)
    );
}

#[test]
fn an_extension_is_1_to_10_digits_after_the_marker_or_is_left_off() {
    for raw in [
        format!("+1 202 555 0143 x{}", "9".repeat(300_000)),
        format!("+1 202 555 0143 ext {}", "€".repeat(50_000)),
        "+1 202 555 0143 x DROP TABLE".to_owned(),
        "+1 202 555 0143 ext".to_owned(),
        "+1 202 555 0143 x12345678901".to_owned(),
    ] {
        assert_eq!(
            clean_phone(&raw),
            Ok(CleanPhone {
                number: "+1 202 555 0143".into(),
                extension_dropped: true
            }),
            "{}",
            &raw[..raw.len().min(40)]
        );
    }
    // Digits after the marker are not the number's digits.
    assert_eq!(clean_phone("12345 x 6789"), Err(InvalidPhone::Digits));
}

#[test]
fn invisible_and_direction_changing_characters_never_reach_single_line_fields() {
    let body = serde_json::json!({
        "email": "jane@example.com",
        "first_name": "Ja\u{200B}ne",
        "last_name": "\u{202E}eoD\u{202C}",
        "company": "\u{202E}lim.yvan\u{202C}",
        "job_title": "\u{FEFF}CTO",
        "utm_source": "\u{2066}linkedin\u{2069}",
        "org type \u{202E}": "\u{202E}Federal agency",
        "message": "line one\nline two",
    });
    let n = normalise_with(body.to_string().as_bytes(), JSON, None).expect("stored");
    let c = &n.lead.contact;
    assert_eq!(c.first_name.as_deref(), Some("Jane"));
    assert_eq!(c.last_name.as_deref(), Some("eoD"));
    assert_eq!(c.full_name.as_deref(), Some("Jane eoD"));
    assert_eq!(c.company.as_deref(), Some("lim.yvan"));
    assert_eq!(c.job_title.as_deref(), Some("CTO"));
    assert_eq!(c.utm.source.as_deref(), Some("linkedin"));
    assert_eq!(
        c.org_type.as_ref().map(|(f, v)| (f.as_str(), v.as_str())),
        Some(("org type", "Federal agency"))
    );
    // Only invisible: absent, not an empty string.
    let n = normalise_with(
        br#"{"email":"jane@example.com","company":"\u200b\u202e"}"#,
        JSON,
        None,
    )
    .expect("stored");
    assert_eq!(n.lead.contact.company, None);
    // An email with direction overrides is not an address.
    let err = normalise_with(
        "{\"email\":\"\u{202E}lim.yvan@example.com\"}".as_bytes(),
        JSON,
        None,
    )
    .expect_err("422");
    assert!(matches!(
        err,
        IntakeError::Unprocessable { field: "email", .. }
    ));
}

// --- The content fingerprint (dedupe within the window) from real bodies.

fn content_key_of(body: &str) -> String {
    let n = normalise_with(body.as_bytes(), FORM, None).expect("stored");
    crate::dedup::content_key(&n.lead, &crate::spam::SpamConfig::default())
}

#[test]
fn the_same_person_with_other_answers_is_a_new_lead() {
    let first = content_key_of(
        "email=jane%40agency.gov&name=Jane+Doe&org_type=Federal+agency&product=Analytics&_rendered_at=1795379755226",
    );
    let other_org = content_key_of(
        "email=jane%40agency.gov&name=Jane+Doe&org_type=State+government&product=Analytics&_rendered_at=1795379755226",
    );
    let other_product = content_key_of(
        "email=jane%40agency.gov&name=Jane+Doe&org_type=Federal+agency&product=Support&_rendered_at=1795379755226",
    );
    assert_ne!(first, other_org);
    assert_ne!(first, other_product);
}

#[test]
fn a_resubmission_with_fresh_control_fields_is_a_duplicate() {
    let first = content_key_of(
        "email=jane%40agency.gov&name=Jane+Doe&org_type=Federal+agency&_rendered_at=1795379755226&g-recaptcha-response=03AF-one&_wpnonce=a1",
    );
    let again = content_key_of(
        "email=jane%40agency.gov&name=Jane+Doe&org_type=Federal+agency&_rendered_at=1795379761000&g-recaptcha-response=03AF-two&_wpnonce=b2",
    );
    let reordered = content_key_of(
        "org_type=Federal+agency&name=Jane+Doe&email=jane%40agency.gov&_rendered_at=1795379790000",
    );
    assert_eq!(first, again);
    assert_eq!(first, reordered);
}

#[test]
fn a_lone_surrogate_is_replaced_not_refused() {
    // What JSON.stringify leaves of a name and a message cut mid-emoji.
    let n = normalise_with(
        br#"{"email":"jane@example.com","name":"Jane \ud83d","\udc00extra":"x","message":"Hi \ud83d\ude00\ud83d"}"#,
        JSON,
        None,
    )
    .expect("kept");
    assert_eq!(email(&n), Some("jane@example.com"));
    assert_eq!(n.lead.contact.full_name.as_deref(), Some("Jane \u{fffd}"));
    assert_eq!(
        n.lead.contact.message.as_deref(),
        Some("Hi \u{1f600}\u{fffd}")
    );
    assert!(n.lead.fields.iter().any(|f| f.name == "\u{fffd}extra"));
}

#[test]
fn elementor_with_12000_ids_is_a_lead() {
    // 12,000 ids in a body under the size limit, as in the report.
    let id = |mut i: usize| {
        let mut id = String::new();
        loop {
            id.insert(0, char::from_digit((i % 36) as u32, 36).unwrap_or('0'));
            i /= 36;
            if i == 0 {
                break id;
            }
        }
    };
    let mut body = String::from("fields[email][value]=ada%40example.org&fields[email][type]=email");
    for i in 0..12_000 {
        body.push_str(&format!("&fields[{}][value]=x", id(i)));
    }
    assert!(
        body.len() <= limits::DEFAULT_MAX_BODY_BYTES,
        "{}",
        body.len()
    );
    let n = normalise_with(body.as_bytes(), FORM, None).expect("kept");
    assert_eq!(email(&n), Some("ada@example.org"));
    assert_eq!(
        n.lead.fields.first().map(|f| f.name.as_str()),
        Some("email")
    );
    assert_eq!(n.lead.fields.get(1).map(|f| f.name.as_str()), Some("0"));
}

#[test]
fn only_a_whole_bodys_bom_chooses_the_encoding() {
    // FF FE opening a value is windows-1252 text, not UTF-16.
    let n = normalise_with(b"email=ada%40example.org&message=%FF%FEhi", FORM, None).expect("kept");
    assert_eq!(n.lead.contact.message.as_deref(), Some("\u{ff}\u{fe}hi"));
    // A UTF-16 body with its BOM is read as UTF-16.
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(
            "email=ada%40example.org&name=Ada+L%C3%B6velace"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    let n = normalise_with(&utf16, FORM, None).expect("kept");
    assert_eq!(email(&n), Some("ada@example.org"));
    assert_eq!(n.lead.contact.full_name.as_deref(), Some("Ada Lövelace"));
}

/// The sector the lead's email gives, without the registry (`.mil` needs none).
fn sector_of(n: &Normalised) -> crate::sector::Sector {
    let domain = n.lead.contact.email.as_ref().map(|e| e.domain());
    crate::sector::decide(
        crate::sector::SectorInputs {
            email_domain: domain,
            ..Default::default()
        },
        None,
    )
    .sector
}

fn multipart_of(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--b0undary\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str("--b0undary--\r\n");
    body.into_bytes()
}

const MULTIPART: &str = "multipart/form-data; boundary=b0undary";

/// Several email fields: the one the form calls the email is the lead's, and
/// decides its sector, wherever it is in the body; the others are kept in
/// the raw fields. Each body type, and the vendor shapes that carry names.
#[test]
fn the_leads_own_email_decides_not_the_first_in_the_body() {
    use crate::sector::Sector;
    let other = "x@navy.mil";
    let own = "a@acme.com";
    let flat = [("work_email", other), ("email", own), ("name", "A")];
    let urlencoded = flat
        .iter()
        .map(|(n, v)| format!("{n}={}", v.replace('@', "%40")))
        .collect::<Vec<_>>()
        .join("&");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("urlencoded", urlencoded.clone().into_bytes(), FORM),
        ("text/plain form", urlencoded.into_bytes(), "text/plain"),
        ("multipart", multipart_of(&flat), MULTIPART),
        (
            "json",
            format!(r#"{{"work_email":"{other}","email":"{own}"}}"#).into_bytes(),
            JSON,
        ),
        (
            "json, business_email",
            format!(r#"{{"business_email":"{other}","Email Address":"{own}"}}"#).into_bytes(),
            JSON,
        ),
        (
            "json, a nested address",
            format!(r#"{{"manager":{{"email":"{other}"}},"email":"{own}"}}"#).into_bytes(),
            JSON,
        ),
        (
            "json, all under a wrapper",
            format!(r#"{{"data":{{"work_email":"{other}","email":"{own}"}}}}"#).into_bytes(),
            JSON,
        ),
        (
            "json, contact.email",
            format!(r#"{{"work_email":"{other}","contact":{{"email":"{own}"}}}}"#).into_bytes(),
            JSON,
        ),
        (
            "hubspot forms api",
            format!(
                r#"{{"fields":[{{"name":"work_email","value":"{other}"}},{{"name":"email","value":"{own}"}}],"context":{{"pageUri":"https://www.example.com/"}}}}"#
            )
            .into_bytes(),
            JSON,
        ),
        (
            "hubspot v3 object names",
            format!(
                r#"{{"fields":[{{"name":"0-2/work_email","value":"{other}"}},{{"name":"0-1/email","value":"{own}"}}]}}"#
            )
            .into_bytes(),
            JSON,
        ),
        (
            "elementor: typed, titled",
            format!(
                "fields[mgr][value]={other}&fields[mgr][type]=email&fields[mgr][title]=Manager%27s+email\
                 &fields[email][value]={own}&fields[email][type]=email&fields[email][title]=Email"
            )
            .into_bytes(),
            FORM,
        ),
        (
            "unbounce data.json",
            format!(
                "data.json=%7B%22work_email%22%3A%5B%22{other}%22%5D%2C%22email%22%3A%5B%22{own}%22%5D%7D"
            )
            .into_bytes(),
            FORM,
        ),
    ];
    for (shape, body, content_type) in cases {
        let n = normalise_with(&body, content_type, None)
            .unwrap_or_else(|err| panic!("{shape}: {err}"));
        assert_eq!(email(&n), Some(own), "{shape}");
        assert_eq!(sector_of(&n), Sector::Commercial, "{shape}");
        assert!(
            n.lead.fields.iter().any(|f| f.value == other),
            "{shape}: the other address is kept as evidence"
        );
    }
    // Either order: the plain name wins, not the position.
    for body in [
        format!("email={own}&work_email={other}"),
        format!("work_email={other}&email={own}"),
    ] {
        let n = normalise_with(body.as_bytes(), FORM, None).expect("lead");
        assert_eq!(email(&n), Some(own), "{body}");
    }
}

/// The ranking between several addresses: the source's mapping, then a
/// plain name, then a nested one, then a qualified name or a type alone; the
/// first among equals. One address is the email whatever its name.
#[test]
fn which_of_several_emails_is_the_leads() {
    let lead = |body: &str, mapping: Option<&FieldMapping>| {
        let n = normalise_with(body.as_bytes(), JSON, mapping)
            .unwrap_or_else(|err| panic!("{body}: {err}"));
        email(&n).map(str::to_owned)
    };
    // Alone, a qualified address is the lead's.
    assert_eq!(
        lead(r#"{"work_email":"x@navy.mil"}"#, None).as_deref(),
        Some("x@navy.mil")
    );
    // An empty plain field is no address: the other one is.
    assert_eq!(
        lead(r#"{"email":" ","work_email":"x@navy.mil"}"#, None).as_deref(),
        Some("x@navy.mil")
    );
    // Equals: the first in the form.
    assert_eq!(
        lead(r#"{"email":"a@acme.com","E-mail":"b@other.com"}"#, None).as_deref(),
        Some("a@acme.com")
    );
    assert_eq!(
        lead(
            r#"{"work_email":"x@navy.mil","business_email":"b@other.com"}"#,
            None
        )
        .as_deref(),
        Some("x@navy.mil")
    );
    // The source's mapping outranks any name, before or after it.
    let mapping: FieldMapping = [("2".to_owned(), LeadField::Email)].into_iter().collect();
    for body in [
        r#"{"email":"x@navy.mil","2":"a@acme.com"}"#,
        r#"{"2":"a@acme.com","email":"x@navy.mil"}"#,
    ] {
        assert_eq!(
            lead(body, Some(&mapping)).as_deref(),
            Some("a@acme.com"),
            "{body}"
        );
    }
    // A name outranks an address found only by its look or a question label.
    assert_eq!(
        lead(r#"{"q1":"x@navy.mil","email":"a@acme.com"}"#, None).as_deref(),
        Some("a@acme.com")
    );
    assert_eq!(
        lead(
            r#"{"Your manager's email?":"x@navy.mil","email":"a@acme.com"}"#,
            None
        )
        .as_deref(),
        Some("a@acme.com")
    );
    // The lead's own address decides even when it is broken: another one
    // is not promoted in its place.
    let err = normalise_with(
        br#"{"work_email":"x@navy.mil","email":"not an address"}"#,
        JSON,
        None,
    )
    .expect_err("422");
    assert!(matches!(
        err,
        IntakeError::Unprocessable { field: "email", .. }
    ));
}

/// A lookalike government address is a valid email, but never a verified
/// government one.
#[test]
fn a_homoglyph_government_address_is_kept_but_not_verified() {
    use crate::sector::Sector;
    for address in [
        "grace@n\u{430}vy.mil",
        "grace@xn--nvy-6cd.mil",
        "grace@f\u{455}.fed.us",
    ] {
        for (body, content_type) in [
            (format!(r#"{{"email":"{address}"}}"#).into_bytes(), JSON),
            (multipart_of(&[("email", address)]), MULTIPART),
        ] {
            let n = normalise_with(&body, content_type, None)
                .unwrap_or_else(|err| panic!("{address}: {err}"));
            assert_eq!(email(&n), Some(address));
            assert_eq!(sector_of(&n), Sector::GovernmentUnverified, "{address}");
        }
    }
}

#[test]
fn unlabelled_fields_give_the_email_and_the_one_phone_as_guesses() {
    // Wufoo without its field structure: numbered fields, an entry id, a
    // date and an IP address beside the answers.
    let body = "Field1=Tomasz&Field2=Nowak&Field3=tnowak%40example.com&Field4=Nowak+Property&Field5=7735550166&EntryId=57&DateCreated=2025-06-05+10%3A14%3A52&IP=198.51.100.23&_rendered_at=1795379755226";
    let lead = normalise_with(body.as_bytes(), FORM, None)
        .expect("a lead")
        .lead;
    assert_eq!(
        lead.contact.email.as_ref().map(|e| e.as_str()),
        Some("tnowak@example.com")
    );
    assert_eq!(lead.contact.phone.as_deref(), Some("7735550166"));
    assert_eq!(lead.guessed, ["email from Field3", "phone from Field5"]);

    // Two values that could each be the number: none is taken.
    let body = "Field3=tnowak%40example.com&Field5=7735550166&Field6=312-555-0188";
    let lead = normalise_with(body.as_bytes(), FORM, None)
        .expect("a lead")
        .lead;
    assert_eq!(lead.contact.phone, None);
    assert_eq!(lead.guessed, ["email from Field3"]);

    // Dates, IP addresses, ids and epochs are no phone numbers.
    for value in [
        "2025-06-05",
        "06/05/2025",
        "198.51.100.23",
        "1795379755226",
        "251234567890123",
    ] {
        let body = format!("Field3=t%40example.com&Field9={value}");
        let lead = normalise_with(body.as_bytes(), FORM, None)
            .expect("a lead")
            .lead;
        assert_eq!(lead.contact.phone, None, "{value}");
    }
    // A named phone is no guess.
    let lead = normalise_with(b"email=t%40example.com&phone=7735550166", FORM, None)
        .expect("a lead")
        .lead;
    assert!(lead.guessed.is_empty());
}

#[test]
fn vendor_wrappers_that_do_not_parse_are_read_as_plain_fields() {
    for body in [
        "rawRequest=%7Bnot+json&q4_email=a%40example.com",
        "rawRequest=%5B1%2C2%5D&email=a%40example.com",
        "FieldStructure=%7B%22Fields%22%3A5%7D&Field3=a%40example.com",
        "FieldStructure=nope&email=a%40example.com",
        "Name=first+%3D+&email=a%40example.com",
        "message=x+%3D+5%0Ay+%3D+6&email=a%40example.com",
        "HandshakeKey=secret&token=t&email=a%40example.com",
    ] {
        let lead = normalise_with(body.as_bytes(), FORM, None)
            .unwrap_or_else(|err| panic!("{body}: {err}"))
            .lead;
        assert_eq!(
            lead.contact.email.as_ref().map(|e| e.as_str()),
            Some("a@example.com"),
            "{body}"
        );
        assert!(
            !lead
                .fields
                .iter()
                .any(|f| f.name == "HandshakeKey" || f.name == "token"),
            "{body}: a shared secret stored"
        );
    }
}

#[test]
fn a_message_that_reads_like_parts_stays_whole() {
    let body = "email=a%40example.com&message=x+%3D+5%0Ay+%3D+6";
    let lead = normalise_with(body.as_bytes(), FORM, None)
        .expect("a lead")
        .lead;
    assert_eq!(lead.contact.message.as_deref(), Some("x = 5\ny = 6"));
    let body = "email=a%40example.com&Name=first+%3D+Jordan%0Alast+%3D+Ellis";
    let lead = normalise_with(body.as_bytes(), FORM, None)
        .expect("a lead")
        .lead;
    assert_eq!(lead.contact.first_name.as_deref(), Some("Jordan"));
    assert_eq!(lead.contact.last_name.as_deref(), Some("Ellis"));
}
