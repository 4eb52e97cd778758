//! Block Kit and Adaptive Card bodies for a lead (to be written).

use serde_json::{Value, json};

use super::MessageContext;
use crate::record::LeadRecord;

/// A Slack message body: `{"text": fallback, "blocks": [...]}` (the caller
/// adds `channel`, `thread_ts` or `ts`).
pub fn slack_message(_lead: &LeadRecord, _context: &MessageContext<'_>) -> Value {
    json!({})
}

/// A Teams Workflows payload: `{"type": "message", "attachments": [{
/// "contentType": "application/vnd.microsoft.card.adaptive", "content": card}]}`.
pub fn teams_message(_lead: &LeadRecord, _context: &MessageContext<'_>) -> Value {
    json!({})
}
