//! The escalation function: invoked by the scheduled EventBridge rule.
//!
//! For now it records the sweep; SLA ladders, the due-index query and
//! escalation emails arrive with the escalation issue.

use aws_lambda_events::eventbridge::EventBridgeEvent;

/// Why a sweep failed.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {}

/// Runs one sweep.
pub async fn sweep(event: EventBridgeEvent<serde_json::Value>) -> Result<(), SweepError> {
    tracing::info!(scheduled_at = ?event.time, "escalation sweep");
    Ok(())
}
