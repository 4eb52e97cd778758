//! Every content type the intake accepts, on arbitrary bytes, through the
//! whole normalisation: it may refuse, never panic.
#![no_main]

use firsthour::intake::{IntakeContext, limits, normalise};
use firsthour::lead::{RequestMeta, Source};
use libfuzzer_sys::fuzz_target;

const CONTENT_TYPES: [&str; 8] = [
    "application/json",
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=iso-8859-1",
    "multipart/form-data; boundary=fuzzboundary",
    "text/plain",
    "application/json; charset=utf-16le",
    "application/vnd.api+json",
    "",
];

fuzz_target!(|data: &[u8]| {
    let Some((selector, body)) = data.split_first() else { return };
    let content_type = CONTENT_TYPES[usize::from(*selector) % CONTENT_TYPES.len()];
    let source = Source::default_web();
    let meta = RequestMeta::default();
    let context = IntakeContext {
        source: &source,
        meta: &meta,
        mapping: None,
        max_body_bytes: limits::DEFAULT_MAX_BODY_BYTES,
        received_at: time::OffsetDateTime::UNIX_EPOCH,
    };
    let content_type = (!content_type.is_empty()).then_some(content_type);
    let _ = normalise(body, content_type, context);
});
