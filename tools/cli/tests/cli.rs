//! The `firsthour` CLI runs the intake's parsing and the routing on files.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn firsthour(args: &[&str]) -> (i32, serde_json::Value, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_firsthour"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
    (
        output.status.code().unwrap_or(-1),
        json,
        format!("{stdout}{stderr}"),
    )
}

const RULES: &str = "infra/config/firsthour.toml";
const REGISTRY: &str = "crates/firsthour/data/dotgov.csv";

#[test]
fn routes_every_vendor_sample() {
    let cases = [
        (
            "typeform.json",
            "typeform",
            "laura.diaz@gsa.gov",
            "federal",
            "federal",
        ),
        (
            "webflow.json",
            "webflow",
            "zaphod@heartofgold.ai",
            "commercial",
            "commercial",
        ),
        (
            "hubspot-forms.json",
            "hubspot",
            "pat.nguyen@example.com",
            "commercial",
            "commercial",
        ),
        (
            "hubspot-contact.json",
            "hubspot",
            "sam.ortiz@county.example.us",
            "commercial",
            "commercial",
        ),
        (
            "gravityforms.json",
            "gravityforms",
            "grace.hopper@navy.mil",
            "federal",
            "federal",
        ),
        (
            "zapier.json",
            "zapier",
            "ana.silva@example.com.br",
            "commercial",
            "commercial",
        ),
        (
            "unbounce.urlencoded",
            "unbounce",
            "jane.doe@example.com",
            "commercial",
            "commercial",
        ),
        (
            "elementor.urlencoded",
            "elementor",
            "ada@example.org",
            "commercial",
            "commercial",
        ),
        (
            "salesforce-web-to-lead.urlencoded",
            "salesforce",
            "ada@example.org",
            "commercial",
            "commercial",
        ),
        (
            "html-form.urlencoded",
            "web",
            "chris.park@example.com",
            "commercial",
            "commercial",
        ),
    ];
    for (file, source, email, sector, rule) in cases {
        let path = format!("events/webhooks/{file}");
        let (code, out, text) = firsthour(&[
            "route",
            "--rules",
            RULES,
            "--gov-domains",
            REGISTRY,
            "--source",
            source,
            &path,
        ]);
        assert_eq!(code, 0, "{file}: {text}");
        assert_eq!(out["lead"]["email"], email, "{file}");
        assert_eq!(out["sector"], sector, "{file}");
        assert_eq!(out["rule"], rule, "{file}");
        assert!(
            out["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "{file}"
        );
        assert!(
            out["team"].is_string() || out["recipients"].as_array().is_some_and(|r| !r.is_empty()),
            "{file}"
        );
        // A rule that assigns says who would own the lead now, and who would
        // be passed over (outside their hours, at this moment).
        if rule == "federal" {
            let now = &out["assignment_now"];
            assert_eq!(now["team"], "federal", "{file}: {now}");
            let candidates = now["candidates"].as_array().expect("candidates");
            assert!(!candidates.is_empty(), "{now}");
            assert!(
                !candidates.iter().any(|c| c == "fed-rep-away@example.com"),
                "{now}"
            );
        }
    }
}

#[test]
fn gravity_forms_mapping_and_gov_portal_source() {
    let (_, out, _) = firsthour(&[
        "route",
        "--rules",
        RULES,
        "--source",
        "gravityforms",
        "events/webhooks/gravityforms.json",
    ]);
    assert_eq!(out["lead"]["name"], "Grace Hopper");
    assert_eq!(out["lead"]["phone"], "(703) 555-0100");

    let dir = std::env::temp_dir().join(format!("firsthour-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let payload = dir.join("portal.json");
    std::fs::write(
        &payload,
        r#"{"email":"someone@gmail.com","name":"Contracting Officer"}"#,
    )
    .expect("write");
    let (code, out, text) = firsthour(&[
        "route",
        "--rules",
        RULES,
        "--source",
        "gov-portal",
        payload.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(out["sector"], "federal");
    assert_eq!(out["sector_evidence"]["basis"], "source");
}

#[test]
fn bad_input_exits_non_zero_with_a_reason() {
    let dir = std::env::temp_dir().join(format!("firsthour-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let no_contact = dir.join("no-contact.json");
    std::fs::write(&no_contact, r#"{"name":"Nobody"}"#).expect("write");
    let (code, _, text) = firsthour(&["route", no_contact.to_str().expect("utf-8")]);
    assert_ne!(code, 0);
    assert!(text.contains("email"), "{text}");

    let (code, _, text) = firsthour(&["route", "missing-file.json"]);
    assert_ne!(code, 0);
    assert!(text.contains("missing-file.json"), "{text}");

    let bad_rules = dir.join("bad.toml");
    std::fs::write(
        &bad_rules,
        "[[rules]]\nname = \"x\"\nsegment = \"s\"\nrecipients = [\"nope\"]\n",
    )
    .expect("write");
    let (code, _, text) = firsthour(&["rules", "check", bad_rules.to_str().expect("utf-8")]);
    assert_ne!(code, 0);
    assert!(text.contains("line 4") && text.contains("nope"), "{text}");

    let (code, _, text) = firsthour(&["rules", "check", RULES]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("valid"));
    // Without --gov-domains the built-in snapshot answers, and says so.
    assert!(
        text.contains(".gov registry: the built-in get.gov snapshot of "),
        "{text}"
    );
    let (code, _, text) = firsthour(&["rules", "check", RULES, "--gov-domains", REGISTRY]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains(".gov registry: the file "), "{text}");
    let (code, _, _) = firsthour(&["frobnicate"]);
    assert_eq!(code, 2);
}

#[test]
fn sample_lead_received_events_are_what_the_router_reads() {
    for name in [
        "lead-received-federal.json",
        "lead-received-commercial.json",
    ] {
        let text =
            std::fs::read_to_string(root().join("events/lambda").join(name)).expect("sample");
        let event: serde_json::Value = serde_json::from_str(&text).expect("json");
        let detail: firsthour::events::LeadReceived =
            serde_json::from_value(event["detail"].clone()).expect("detail is a LeadReceived");
        assert_eq!(event["detail-type"], firsthour::events::LEAD_RECEIVED);
        assert_eq!(event["source"], firsthour::events::EVENT_SOURCE);
        assert!(firsthour::lead::LeadId::parse(detail.lead_id.as_str()).is_some());
    }
}

#[test]
fn registry_show_says_what_the_built_in_copy_answers() {
    let (code, out, _) = firsthour(&["registry", "show", "k.lee@jpl.nasa.gov"]);
    assert_eq!(code, 0);
    assert_eq!(out["sector"], "federal");
    assert_eq!(out["registered_domain"], "nasa.gov");
    assert_eq!(out["domain_type"], "federal_executive");
    assert_eq!(out["registry"]["copy"], "built-in");
    assert_eq!(out["registry"]["dated"], "2026-08-22");
    let (code, out, _) = firsthour(&["registry", "show", "ca.gov"]);
    assert_eq!(code, 0);
    assert_eq!(out["sector"], "state_local");
    let (code, out, _) = firsthour(&["registry", "show", "uscg.mil"]);
    assert_eq!(code, 0);
    assert_eq!(out["service"], "coast_guard");
    assert_eq!(out["agency"], "Department of Homeland Security");
    let (code, _, err) = firsthour(&["registry", "show", "@"]);
    assert_ne!(code, 0);
    assert!(err.contains("give a domain"), "{err}");
}
