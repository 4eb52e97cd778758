//! Where a lead's chat messages are: `channel_posts`, a map on the lead item.

use super::*;

impl firsthour::ports::ChannelPostStore for DynamoLeadStore {
    /// A map entry can only be set inside an existing map, and the map
    /// only created when absent: the entry first, then the whole map when
    /// the lead has none yet, then the entry again (another channel's post
    /// created the map meanwhile). Each write is conditional on the entry
    /// being absent, so a retried delivery records nothing twice.
    async fn record_channel_post(
        &self,
        id: &LeadId,
        channel: &str,
        post: &firsthour::record::ChannelPost,
    ) -> Result<bool, StoreError> {
        let value: AttributeValue = serde_dynamo::to_attribute_value(post)
            .map_err(|e| StoreError::Rejected(e.to_string()))?;
        let entry = || {
            self.lead_key(self.client.update_item(), id)
                .update_expression("SET channel_posts.#channel = :post")
                .condition_expression(
                    "attribute_exists(pk) AND attribute_exists(channel_posts) AND attribute_not_exists(channel_posts.#channel)",
                )
                .expression_attribute_names("#channel", channel)
                .expression_attribute_values(":post", value.clone())
        };
        if conditional(entry().send().await)? {
            return Ok(true);
        }
        let map = AttributeValue::M(std::collections::HashMap::from([(
            channel.to_owned(),
            value.clone(),
        )]));
        let created = conditional(
            self.lead_key(self.client.update_item(), id)
                .update_expression("SET channel_posts = :map")
                .condition_expression(
                    "attribute_exists(pk) AND attribute_not_exists(channel_posts)",
                )
                .expression_attribute_values(":map", map)
                .send()
                .await,
        )?;
        if created {
            return Ok(true);
        }
        conditional(entry().send().await)
    }
}
