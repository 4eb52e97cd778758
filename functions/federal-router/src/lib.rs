//! The federal router: receives `LeadReceived` events from the bus.
//!
//! For now it acknowledges the event; routing rules, sector detection and
//! the federal team's email arrive with the routing issue.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use firsthour::events::LeadReceived;

/// Why an event could not be handled. Retryable errors make the invocation
/// fail so EventBridge retries (then the dead-letter queue keeps it).
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    #[error("event detail is not a LeadReceived: {0}")]
    BadEvent(String),
}

/// Handles one `LeadReceived` event.
pub async fn handle(event: EventBridgeEvent<serde_json::Value>) -> Result<(), RouterError> {
    let detail: LeadReceived = serde_json::from_value(event.detail)
        .map_err(|err| RouterError::BadEvent(err.to_string()))?;
    tracing::info!(lead_id = %detail.lead_id, source = %detail.source, "lead received by router");
    Ok(())
}
