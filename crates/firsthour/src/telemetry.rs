//! Structured JSON logs. Log fields carry ids, sources, outcomes and
//! timings only: never a lead's email, phone, name or message.

use tracing_subscriber::EnvFilter;

/// Installs the JSON log subscriber once, at cold start. `filter` is an
/// `EnvFilter` directive such as `info` or `firsthour=debug`.
pub fn init_json_logs(filter: Option<&str>) {
    let filter = filter
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    // A second init (tests) is harmless: keep the first subscriber.
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
