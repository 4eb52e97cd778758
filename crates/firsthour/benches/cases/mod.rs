//! The four benchmark webhooks (one per content type, ~2 KB, signed as
//! their vendors sign them) and the shipped config, shared by the domain's
//! CPU bench and the store adapter's item bench.

#![allow(dead_code)] // Each bench uses its own part.

use std::path::{Path, PathBuf};

use firsthour::config::FileConfig;
use firsthour::intake::IntakeContext;
use firsthour::lead::{RequestMeta, Source};
use firsthour::sector::Sector;
use firsthour::signature::{Scheme, Verifier, sign};
use time::OffsetDateTime;

const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const TYPEFORM_SECRET: &str = "typeform-signing-secret-0123456789";
const MAX_BODY_BYTES: usize = 256 * 1024;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// A get.gov registry file named by `FIRSTHOUR_GOV_DOMAINS_FILE`, used
/// instead of the built-in snapshot as a deployment would.
pub fn registry_path() -> Option<PathBuf> {
    std::env::var_os("FIRSTHOUR_GOV_DOMAINS_FILE")
        .map(PathBuf::from)
        .filter(|path| path.exists())
}

/// The snapshot the built-in registry is compiled from.
pub fn snapshot_path() -> PathBuf {
    root().join("crates/firsthour/data/dotgov.csv")
}

/// The shipped config, with the built-in registry or the file named.
pub fn config() -> (FileConfig, bool) {
    let registry = registry_path();
    let env = |name: &str| match name {
        "FIRSTHOUR_FEDERAL_TEAM_EMAILS" => Some("federal-sales@example.com".to_owned()),
        "FIRSTHOUR_FALLBACK_EMAILS" => Some("sales-ops@example.com".to_owned()),
        _ => None,
    };
    let file = FileConfig::load(
        &root().join("infra/config/firsthour.toml"),
        registry.as_deref(),
        &env,
    )
    .expect("the shipped config loads");
    let loaded = file.registry.is_some();
    (file, loaded)
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A Salesforce Web-to-Lead post (events/webhooks), padded with the fields a
/// real Web-to-Lead form carries: address, custom `00N…` fields, UTM and ad
/// click ids, a long description. A state agency's address.
fn urlencoded_body() -> Vec<u8> {
    let base = read("events/webhooks/salesforce-web-to-lead.urlencoded")
        .trim()
        .replace("ada%40example.org", "ada.lovelace%40dmv.ca.gov");
    let extra: &[(&str, &str)] = &[
        ("salutation", "Ms."),
        ("street", "2415 First Avenue, Mail Station F101"),
        ("zip", "95818"),
        ("country", "US"),
        ("mobile", "+1 916 555 0147"),
        ("fax", ""),
        ("URL", "https://www.dmv.ca.gov"),
        ("industry", "Government"),
        ("employees", "8200"),
        ("rating", "Warm"),
        ("00N5e00000AbCdF", "Q1 2027"),
        ("00N5e00000AbCdG", "Cloud migration; records modernisation"),
        ("00N5e00000AbCdH", "CMAS"),
        ("utm_source", "google"),
        ("utm_medium", "cpc"),
        ("utm_campaign", "slg-modernisation-2026"),
        ("utm_term", "records management software"),
        ("utm_content", "ad-variant-b"),
        (
            "gclid",
            "Cj0KCQiA4NWrBhD-ARIsAFCKwWt9ZlDq3xhXc5cxJ8KQ2eVYb1yL7_pJm0e9fR3zT4aQ6sWnUvX8yZaAmZ4EALw_wcB",
        ),
        (
            "page_url",
            "https://www.example.com/government/state-and-local?utm_source=google&utm_medium=cpc",
        ),
        ("referrer", "https://www.google.com/"),
        (
            "00N5e00000AbCdI",
            "Records management; case management; citizen self-service portal",
        ),
        (
            "00N5e00000AbCdJ",
            "Department of Motor Vehicles, Information Systems Division",
        ),
        (
            "00N5e00000AbCdK",
            "Procurement through CMAS or a competitive RFP, FY2027 budget approved",
        ),
        (
            "lead_source_detail",
            "Paid search: records management software (state and local)",
        ),
        ("member_status", "Responded"),
        ("Campaign_ID", "7015e000000AbCdEAF"),
        ("debug", "0"),
        ("debugEmail", ""),
        ("recordType", "0125e000000AbCdAAK"),
        ("encoding", "UTF-8"),
        (
            "captcha_settings",
            "{\"keyname\":\"w2l\",\"fallback\":\"true\",\"orgId\":\"00D5e000000AbCd\",\"ts\":\"\"}",
        ),
        (
            "description",
            "Hello, we are the records modernisation team at the California DMV. We are evaluating \
             platforms to replace our current case management system before the end of the fiscal \
             year and would like to schedule a demo for six people, including our procurement lead. \
             We need FedRAMP Moderate or StateRAMP, SSO with our identity provider, and a data \
             retention policy we can configure per record type. Could you also send pricing for \
             about 400 seats and tell us whether you are on the CMAS schedule? Thank you.",
        ),
    ];
    let mut body = base;
    for (name, value) in extra.iter().copied() {
        body.push('&');
        body.push_str(name);
        body.push('=');
        body.push_str(&encode(value));
    }
    body.into_bytes()
}

const BOUNDARY: &str = "----WebKitFormBoundary7MA4YWxkTrZu0gW";

/// A plain HTML contact form posted as `multipart/form-data` (it has a file
/// input), with the honeypot, the render time and UTM hidden fields and a
/// small attachment, which the intake records but does not store.
fn multipart_body() -> Vec<u8> {
    let fields: &[(&str, &str)] = &[
        ("name", "Chris Park"),
        ("email", "chris.park@example.com"),
        ("phone", "+1 (415) 555-0199"),
        ("company", "Park & Sons Logistics"),
        ("job_title", "Director of Operations"),
        ("employees", "1400"),
        ("country", "United States"),
        ("topic", "Pricing"),
        (
            "message",
            "Hi! We run 14 warehouses across the West Coast and need help routing inbound \
             inquiries to the right regional team within minutes. Could someone walk us through \
             the enterprise plan, the onboarding timeline and how the SLA escalation works when \
             a rep is out? We would like to start in January.",
        ),
        ("utm_source", "newsletter"),
        ("utm_medium", "email"),
        ("utm_campaign", "winter-logistics"),
        (
            "page_url",
            "https://www.example.com/contact?plan=enterprise",
        ),
        ("hp_website", ""),
        ("_rendered_at", "1700000000000"),
        ("consent", "yes"),
    ];
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"requirements.txt\"\r\nContent-Type: text/plain\r\n\r\n"
    ));
    for i in 0..2 {
        body.push_str(&format!(
            "Requirement {i}: route every inbound lead to its regional team within five minutes.\n"
        ));
    }
    body.push_str(&format!("\r\n--{BOUNDARY}--\r\n"));
    body.into_bytes()
}

/// `navigator.sendBeacon` with a JSON string: `text/plain`, a Zapier-style
/// flat object (events/webhooks/zapier.json) with the fields a landing page
/// adds. A `.mil` address.
fn text_plain_body() -> Vec<u8> {
    let mut value: serde_json::Value =
        serde_json::from_str(&read("events/webhooks/zapier.json")).expect("zapier.json");
    let map = value.as_object_mut().expect("object");
    let mut set = |k: &str, v: &str| {
        map.insert(k.to_owned(), serde_json::Value::String(v.to_owned()));
    };
    set("email", "ana.silva@us.af.mil");
    set("company", "U.S. Air Force, Air Mobility Command");
    set(
        "message",
        "We are looking for a lead routing platform for our recruiting outreach team: roughly \
         3,000 inquiries a month from our public site, which must reach a recruiter in the right \
         region within the hour. Please send information on your government offering, \
         FedRAMP status, and whether you support CAC-based sign-in for our staff. \
         We would also like to understand data residency and retention options.",
    );
    set("organization_type", "Federal Government");
    set("utm_term", "lead routing government");
    set("utm_content", "hero-cta");
    set(
        "referrer",
        "https://www.bing.com/search?q=lead+routing+government",
    );
    set(
        "user_agent",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    );
    set("timezone", "America/Chicago");
    set("locale", "en-US");
    set("screen", "1920x1080");
    set("session_id", "s_01JDX3K2V7T8Q9W0E1R2T3Y4U5");
    set(
        "landing_page",
        "https://www.example.com/government?utm_source=google",
    );
    set("form_id", "contact-gov-2026");
    set("submitted_at", "2026-11-22T14:24:11Z");
    set("consent_marketing", "true");
    set("consent_terms", "true");
    set("preferred_contact", "email");
    set("best_time", "mornings, Central time");
    set(
        "gclid",
        "Cj0KCQiA4NWrBhD-ARIsAFCKwWt9ZlDq3xhXc5cxJ8KQ2eVYb1yL7_pJm0e9fR3zT4aQ6sWnUvX8y",
    );
    set(
        "pages_viewed",
        "/government, /government/federal, /pricing, /security/fedramp, /case-studies/air-mobility, /contact",
    );
    set("time_on_site_seconds", "412");
    set("returning_visitor", "true");
    set("ab_test", "hero-copy-b");
    set("job_title", "Recruiting Operations Lead");
    set("phone", "+1 618 555 0175");
    set(
        "how_did_you_hear",
        "A colleague at Scott AFB recommended you after a demo at a recruiting conference",
    );
    set("team_size", "45 recruiters across 6 regions");
    set(
        "timeline",
        "Pilot in Q1, rollout by the end of the fiscal year",
    );
    serde_json::to_vec(&value).expect("json")
}

/// One benchmark case: a body, how it is sent, and how it is signed.
pub struct Case {
    pub name: &'static str,
    pub source: Source,
    pub content_type: String,
    pub body: Vec<u8>,
    pub verifier: Verifier,
    pub headers: Vec<(String, String)>,
    pub expected: Sector,
}

impl Case {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The intake's context for this case's source, as the function builds it.
    pub fn context<'a>(
        &'a self,
        meta: &'a RequestMeta,
        file: &'a FileConfig,
        now: OffsetDateTime,
    ) -> IntakeContext<'a> {
        IntakeContext {
            source: &self.source,
            meta,
            mapping: file.mapping(&self.source),
            max_body_bytes: MAX_BODY_BYTES,
            received_at: now,
        }
    }
}

pub fn cases(now: OffsetDateTime, registry: bool) -> Vec<Case> {
    let standard = |name: &'static str,
                    source: &str,
                    content_type: String,
                    body: Vec<u8>,
                    expected: Sector| {
        let id = format!("msg_{name}_2fXb8kQ1");
        let signature = sign::standard_webhooks(WEBHOOK_SECRET, &id, now.unix_timestamp(), &body);
        Case {
            name,
            source: Source::parse(source).expect("source"),
            content_type,
            body,
            verifier: Verifier::new(Scheme::StandardWebhooks, WEBHOOK_SECRET).expect("secret"),
            headers: vec![
                ("webhook-id".into(), id),
                ("webhook-timestamp".into(), now.unix_timestamp().to_string()),
                ("webhook-signature".into(), signature),
            ],
            expected,
        }
    };
    let typeform = read("events/webhooks/typeform.json").into_bytes();
    let typeform_signature = sign::typeform(TYPEFORM_SECRET, &typeform);
    vec![
        Case {
            name: "json",
            source: Source::parse("typeform").expect("source"),
            content_type: "application/json".into(),
            body: typeform,
            verifier: Verifier::new(Scheme::Typeform, TYPEFORM_SECRET).expect("secret"),
            headers: vec![("typeform-signature".into(), typeform_signature)],
            // gsa.gov: federal with the registry, unverified without.
            expected: if registry {
                Sector::Federal
            } else {
                Sector::GovernmentUnverified
            },
        },
        standard(
            "urlencoded",
            "salesforce",
            "application/x-www-form-urlencoded".into(),
            urlencoded_body(),
            if registry {
                Sector::StateLocal
            } else {
                Sector::GovernmentUnverified
            },
        ),
        standard(
            "multipart",
            "website",
            format!("multipart/form-data; boundary={BOUNDARY}"),
            multipart_body(),
            Sector::Commercial,
        ),
        standard(
            "text_plain",
            "beacon",
            "text/plain;charset=UTF-8".into(),
            text_plain_body(),
            Sector::Federal,
        ),
        tally_case(registry),
    ]
}

/// A Tally `FORM_RESPONSE` (events/webhooks/tally.json: answers as
/// `{key, label, type, value}` objects, a choice by option id), signed as
/// Tally signs it: the generic reader for tools without mapping code.
fn tally_case(registry: bool) -> Case {
    const TALLY_SECRET: &str = "tally-signing-secret";
    let body = read("events/webhooks/tally.json").into_bytes();
    let signature =
        sign::body_mac(Scheme::Tally, TALLY_SECRET, None, &body, None).expect("an HMAC scheme");
    Case {
        name: "tally_json",
        source: Source::parse("tally").expect("source"),
        content_type: "application/json".into(),
        body,
        verifier: Verifier::new(Scheme::Tally, TALLY_SECRET).expect("secret"),
        headers: vec![("tally-signature".into(), signature)],
        // k.lee@gsa.gov: federal with the registry, unverified without.
        expected: if registry {
            Sector::Federal
        } else {
            Sector::GovernmentUnverified
        },
    }
}
