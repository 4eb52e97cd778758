//! EventBridge publisher.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use crate::{describe, is_transient};
use firsthour::events::{EVENT_SOURCE, OutboundEvent};
use firsthour::ports::{EventPublisher, PublishError};

#[derive(Debug, Clone)]
pub struct EventBridgePublisher {
    client: Client,
    bus_name: String,
}

impl EventBridgePublisher {
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
        }
    }
}

impl EventPublisher for EventBridgePublisher {
    async fn publish(&self, event: &OutboundEvent) -> Result<(), PublishError> {
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus_name)
            .source(EVENT_SOURCE)
            .detail_type(event.detail_type)
            .detail(&event.detail)
            .build();
        let output = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|err| {
                let kind = if is_transient(&err) {
                    "transient"
                } else {
                    "permanent"
                };
                PublishError(format!("{kind}: {}", describe(&err)))
            })?;
        // PutEvents answers 200 even when an entry failed: check each one.
        if output.failed_entry_count() > 0 {
            let reason = output
                .entries()
                .iter()
                .find_map(|e| {
                    e.error_code()
                        .map(|code| format!("{code}: {}", e.error_message().unwrap_or_default()))
                })
                .unwrap_or_else(|| "entry failed".into());
            return Err(PublishError(reason));
        }
        Ok(())
    }
}
