//! Our Standard Webhooks signatures against the official verifier
//! (`standardwebhooks` from PyPI, in the project's venv): what firsthour
//! signs, it verifies; what it signs, firsthour verifies.

use std::io::Write;
use std::process::{Command, Stdio};

use firsthour::signature::{Scheme, SignedRequest, Verifier, sign};
use firsthour_tests::root;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Runs the official package on `input` (JSON on stdin): its answer.
fn official(mode: &str, input: serde_json::Value) -> Result<String, String> {
    let script = r#"
import datetime, json, sys
from standardwebhooks.webhooks import Webhook
secret, mode = sys.argv[1], sys.argv[2]
data = json.load(sys.stdin)
hook = Webhook(secret)
if mode == "verify":
    hook.verify(data["body"], data["headers"], json_parse=False)
    print("verified")
else:
    at = datetime.datetime.fromtimestamp(int(data["timestamp"]), tz=datetime.timezone.utc)
    print(hook.sign(data["id"], at, data["body"]))
"#;
    let python = root().join(".venv/bin/python");
    let mut child = Command::new(&python)
        .args(["-c", script, SECRET, mode])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("{} runs (make venv installs it): {err}", python.display()));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("written");
    let output = child.wait_with_output().expect("finished");
    let out = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if output.status.success() {
        Ok(out)
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

fn bodies() -> Vec<String> {
    vec![
        r#"{"type":"LeadReceived","data":{"lead_id":"01KAQ5V3N6X5J0C9W4Y2B7D8EF","segment":"federal"}}"#.to_owned(),
        serde_json::json!({"note": "ünïcödé, \"quotes\", <tags> & newlines\n", "n": 1.5}).to_string(),
        String::new(),
        "x".repeat(64 * 1024),
    ]
}

#[test]
fn the_official_verifier_accepts_what_firsthour_signs_and_refuses_a_change() {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for (n, body) in bodies().into_iter().enumerate() {
        let id = format!("msg_{n}");
        let signature = sign::standard_webhooks(SECRET, &id, now, body.as_bytes());
        let headers = serde_json::json!({
            "webhook-id": id,
            "webhook-timestamp": now.to_string(),
            "webhook-signature": signature,
        });
        let verified = official(
            "verify",
            serde_json::json!({"body": body, "headers": headers}),
        );
        assert_eq!(verified.as_deref(), Ok("verified"), "body {n}");
        let tampered = format!("{body} ");
        let refused = official(
            "verify",
            serde_json::json!({"body": tampered, "headers": headers}),
        );
        assert!(refused.is_err(), "body {n}: a changed body must not verify");
    }
}

#[test]
fn firsthour_verifies_what_the_official_package_signs() {
    let now = time::OffsetDateTime::now_utc();
    let verifier = Verifier::new(Scheme::StandardWebhooks, SECRET).expect("secret");
    for (n, body) in bodies().into_iter().enumerate() {
        let id = format!("msg_{n}");
        let signature = official(
            "sign",
            serde_json::json!({"id": id, "timestamp": now.unix_timestamp(), "body": body}),
        )
        .expect("signed");
        let timestamp = now.unix_timestamp().to_string();
        let headers = [
            ("webhook-id", id.as_str()),
            ("webhook-timestamp", timestamp.as_str()),
            ("webhook-signature", signature.as_str()),
        ];
        let lookup = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        };
        let verified = verifier.verify(&SignedRequest {
            method: "POST",
            url: "https://example.com/leads/x",
            body: body.as_bytes(),
            header: &lookup,
            now,
        });
        assert!(verified.is_ok(), "body {n}: {verified:?}");
        assert_eq!(verified.map(|v| v.delivery_id), Ok(Some(id)));
    }
}
