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
    futures::executor::block_on(normalise(body, Some(content_type), context))
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
    assert!(n.lead.fields_truncated);
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
    for ok in [
        "+1 (202) 555-0143",
        "020 7946 0000",
        "202.555.0143 ext 12",
        "tel:+4420794600",
        "5550143x7",
    ] {
        assert!(clean_phone(ok).is_ok(), "{ok}");
    }
    for bad in [
        "call me",
        "12345",
        "555-0143; DROP TABLE",
        "1234567890123456789012",
        "<script>",
    ] {
        assert!(clean_phone(bad).is_err(), "{bad}");
    }
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
