//! Response-time metrics as CloudWatch Embedded Metric Format (EMF) lines.
//!
//! Each event is one JSON line on stdout. Lambda ships stdout to CloudWatch
//! Logs, and CloudWatch turns lines carrying an `_aws` directive into metrics:
//! no PutMetricData call, no extra latency, no extra IAM permission.
//!
//! Every metric is also published without dimensions (an empty dimension
//! set), which is what the template's alarms and dashboard read.
//!
//! Dimensions carry only names from the configuration (segment, source, tier),
//! never anything a lead typed. Sources not named in the config are reported
//! as `other`, so a sender cannot create metrics by inventing paths.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::lead::{LeadId, unix_millis};

/// The CloudWatch namespace when none is configured. The template sets
/// `firsthour/<stack name>` (FIRSTHOUR_METRICS_NAMESPACE), so two stacks in
/// one account keep their figures apart.
pub const DEFAULT_NAMESPACE: &str = "firsthour";

/// Metric names (the dashboard and alarms in `infra/template.yaml` use them).
pub mod names {
    pub const LEADS_RECEIVED: &str = "LeadsReceived";
    pub const FALLBACK_HITS: &str = "FallbackHits";
    pub const LEADS_ROUTED: &str = "LeadsRouted";
    pub const TIME_TO_NOTIFY: &str = "TimeToNotify";
    pub const LEADS_ESCALATED: &str = "LeadsEscalated";
    pub const LEADS_REASSIGNED: &str = "LeadsReassigned";
    pub const BREACHES: &str = "Breaches";
    pub const LEADS_TOUCHED: &str = "LeadsTouched";
    pub const TIME_TO_FIRST_TOUCH: &str = "TimeToFirstTouch";
}

/// The source value reported for sources the configuration does not name.
pub const OTHER_SOURCE: &str = "other";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
        }
    }
}

/// One metric event: values that share dimensions, plus searchable
/// properties (the lead id) that are not dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricEvent {
    dimensions: Vec<(&'static str, String)>,
    /// Which combinations of `dimensions` CloudWatch aggregates by.
    dimension_sets: Vec<Vec<&'static str>>,
    values: Vec<(&'static str, f64, Unit)>,
    lead_id: Option<String>,
}

impl MetricEvent {
    fn new(segment: &str) -> Self {
        Self {
            dimensions: vec![("Segment", dimension_value(segment))],
            dimension_sets: vec![vec![], vec!["Segment"]],
            values: Vec::new(),
            lead_id: None,
        }
    }

    fn dimension(mut self, name: &'static str, value: &str, with_segment: bool) -> Self {
        self.dimensions.push((name, dimension_value(value)));
        self.dimension_sets.push(if with_segment {
            vec!["Segment", name]
        } else {
            vec![name]
        });
        self
    }

    fn value(mut self, name: &'static str, value: f64, unit: Unit) -> Self {
        self.values.push((name, value, unit));
        self
    }

    fn lead(mut self, id: &LeadId) -> Self {
        self.lead_id = Some(id.to_string());
        self
    }

    /// The value of metric `name`, if the event has it.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.values
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, v, _)| *v)
    }

    /// The value of dimension `name`, if the event has it.
    pub fn dimension_of(&self, name: &str) -> Option<&str> {
        self.dimensions
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The EMF JSON line.
    pub fn to_emf(&self, namespace: &str, at: OffsetDateTime) -> String {
        let metrics: Vec<Value> = self
            .values
            .iter()
            .map(|(name, _, unit)| json!({"Name": name, "Unit": unit.as_str()}))
            .collect();
        let mut line = Map::new();
        line.insert(
            "_aws".into(),
            json!({
                "Timestamp": unix_millis(at),
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": self.dimension_sets,
                    "Metrics": metrics,
                }],
            }),
        );
        for (name, value) in &self.dimensions {
            line.insert((*name).into(), Value::String(value.clone()));
        }
        for (name, value, _) in &self.values {
            line.insert((*name).into(), json!(value));
        }
        if let Some(id) = &self.lead_id {
            line.insert("lead_id".into(), Value::String(id.clone()));
        }
        Value::Object(line).to_string()
    }
}

/// Dimension values are config names; still, keep them short and printable.
fn dimension_value(raw: &str) -> String {
    let clean: String = raw.chars().filter(|c| !c.is_control()).take(250).collect();
    if clean.is_empty() {
        "none".into()
    } else {
        clean
    }
}

/// A lead was stored. `source` is the configured source name or [`OTHER_SOURCE`].
pub fn lead_received(id: &LeadId, source: &str, segment: &str, fallback: bool) -> MetricEvent {
    MetricEvent::new(segment)
        .dimension("Source", source, true)
        .value(names::LEADS_RECEIVED, 1.0, Unit::Count)
        .value(
            names::FALLBACK_HITS,
            f64::from(u8::from(fallback)),
            Unit::Count,
        )
        .lead(id)
}

/// A lead was assigned its owner.
pub fn lead_routed(id: &LeadId, segment: &str) -> MetricEvent {
    MetricEvent::new(segment)
        .value(names::LEADS_ROUTED, 1.0, Unit::Count)
        .lead(id)
}

/// The first notification went out, `ms` after the lead arrived.
pub fn lead_notified(id: &LeadId, segment: &str, ms: i64) -> MetricEvent {
    MetricEvent::new(segment)
        .value(names::TIME_TO_NOTIFY, ms as f64, Unit::Milliseconds)
        .lead(id)
}

/// Escalation tier `tier` (1 = the ladder's first) fired; `breach` when it
/// was the hand-over to the fallback after the last tier.
pub fn lead_escalated(id: &LeadId, segment: &str, tier: u32, breach: bool) -> MetricEvent {
    MetricEvent::new(segment)
        .dimension("Tier", &tier.to_string(), true)
        .value(names::LEADS_ESCALATED, 1.0, Unit::Count)
        .value(names::BREACHES, f64::from(u8::from(breach)), Unit::Count)
        .lead(id)
}

/// Tier `tier` moved the lead to another owner.
pub fn lead_reassigned(id: &LeadId, segment: &str, tier: u32) -> MetricEvent {
    MetricEvent::new(segment)
        .dimension("Tier", &tier.to_string(), true)
        .value(names::LEADS_REASSIGNED, 1.0, Unit::Count)
        .lead(id)
}

/// Someone acted on the lead for the first time, `ms` after it arrived.
pub fn first_touch(id: &LeadId, segment: &str, ms: i64) -> MetricEvent {
    MetricEvent::new(segment)
        .value(names::LEADS_TOUCHED, 1.0, Unit::Count)
        .value(names::TIME_TO_FIRST_TOUCH, ms as f64, Unit::Milliseconds)
        .lead(id)
}

/// Where metric events go: stdout in Lambda; a list in tests.
#[derive(Clone)]
pub struct Metrics {
    namespace: Arc<str>,
    recorded: Option<Arc<Mutex<Vec<MetricEvent>>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::stdout(DEFAULT_NAMESPACE)
    }
}

impl Metrics {
    /// EMF lines on stdout (what Lambda ships to CloudWatch Logs).
    pub fn stdout(namespace: &str) -> Self {
        Self {
            namespace: Arc::from(namespace),
            recorded: None,
        }
    }

    /// Keeps events in memory instead, for tests to read back.
    pub fn recording() -> Self {
        Self {
            recorded: Some(Arc::default()),
            ..Self::default()
        }
    }

    pub fn emit(&self, at: OffsetDateTime, event: MetricEvent) {
        match &self.recorded {
            Some(list) => {
                if let Ok(mut list) = list.lock() {
                    list.push(event);
                }
            }
            None => {
                // One write per line, so lines from concurrent tasks never interleave.
                let line = event.to_emf(&self.namespace, at) + "\n";
                let _ = std::io::stdout().lock().write_all(line.as_bytes());
            }
        }
    }

    /// What was emitted so far (empty unless [`Metrics::recording`]).
    pub fn events(&self) -> Vec<MetricEvent> {
        self.recorded
            .as_ref()
            .and_then(|list| list.lock().ok().map(|l| l.clone()))
            .unwrap_or_default()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.recorded.is_some() {
            "Metrics(recording)"
        } else {
            "Metrics(stdout)"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn emf_line_declares_its_metrics_and_dimensions() {
        let at = datetime!(2026-11-22 14:00 UTC);
        let id = LeadId::new_at(at);
        let line = lead_received(&id, "website", "federal", false).to_emf("firsthour/prod", at);
        let v: Value = serde_json::from_str(&line).expect("json");
        let directive = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(v["_aws"]["Timestamp"], json!(unix_millis(at)));
        assert_eq!(directive["Namespace"], "firsthour/prod");
        assert_eq!(
            directive["Dimensions"],
            json!([[], ["Segment"], ["Segment", "Source"]])
        );
        assert_eq!(
            directive["Metrics"],
            json!([
                {"Name": "LeadsReceived", "Unit": "Count"},
                {"Name": "FallbackHits", "Unit": "Count"}
            ])
        );
        assert_eq!(v["Segment"], "federal");
        assert_eq!(v["Source"], "website");
        assert_eq!(v["LeadsReceived"], json!(1.0));
        assert_eq!(v["FallbackHits"], json!(0.0));
        assert_eq!(v["lead_id"], json!(id.to_string()));
        assert!(!line.contains('\n'));
    }

    #[test]
    fn escalations_are_dimensioned_by_tier_and_times_are_milliseconds() {
        let at = datetime!(2026-11-22 14:00 UTC);
        let id = LeadId::new_at(at);
        let v: Value = serde_json::from_str(&lead_escalated(&id, "hot", 2, false).to_emf("f", at))
            .expect("json");
        assert_eq!(v["Tier"], "2");
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[], ["Segment"], ["Segment", "Tier"]])
        );
        let v: Value =
            serde_json::from_str(&first_touch(&id, "hot", 61_000).to_emf("f", at)).expect("json");
        assert_eq!(v["TimeToFirstTouch"], json!(61_000.0));
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"][1]["Unit"],
            "Milliseconds"
        );
    }

    #[test]
    fn dimension_values_are_bounded_and_printable() {
        let at = datetime!(2026-11-22 14:00 UTC);
        let id = LeadId::new_at(at);
        let event = lead_routed(&id, &format!("a\nb{}", "x".repeat(400)));
        let segment = event.dimension_of("Segment").expect("segment");
        assert!(!segment.contains('\n'));
        assert_eq!(segment.chars().count(), 250);
        assert_eq!(lead_routed(&id, "").dimension_of("Segment"), Some("none"));
    }

    #[test]
    fn recording_metrics_keep_events_for_tests() {
        let metrics = Metrics::recording();
        let at = datetime!(2026-11-22 14:00 UTC);
        metrics.emit(at, lead_routed(&LeadId::new_at(at), "federal"));
        let events = metrics.events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].get(names::LEADS_ROUTED), Some(1.0));
        assert!(Metrics::default().events().is_empty());
    }
}
