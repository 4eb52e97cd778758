//! The reps' port: away states and unanswered streaks, one item per rep.

use aws_sdk_dynamodb::types::KeysAndAttributes;
use firsthour::ports::RepStore;
use firsthour::roster::{Away, Roster};

use super::*;
use crate::table::rep::{REP_SK, RepItem, away_values, rep_pk};

/// BatchGetItem's most keys per call.
const BATCH: usize = 100;
/// Rounds of unprocessed keys tried again before the read gives up.
const ROUNDS: usize = 5;

impl DynamoLeadStore {
    fn rep_key(
        &self,
        builder: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
        rep: &str,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        builder
            .table_name(&self.table)
            .key(table::PK, AttributeValue::S(rep_pk(rep)))
            .key(table::SK, AttributeValue::S(REP_SK.to_owned()))
    }
}

impl RepStore for DynamoLeadStore {
    async fn rep_statuses(&self, reps: &[&str]) -> Result<Roster, StoreError> {
        let mut statuses = HashMap::new();
        for chunk in reps.chunks(BATCH) {
            let keys: Vec<HashMap<String, AttributeValue>> = chunk
                .iter()
                .map(|rep| {
                    HashMap::from([
                        (table::PK.to_owned(), AttributeValue::S(rep_pk(rep))),
                        (table::SK.to_owned(), AttributeValue::S(REP_SK.to_owned())),
                    ])
                })
                .collect();
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(|err| StoreError::Rejected(err.to_string()))?,
            );
            for round in 0..ROUNDS {
                let Some(request) = pending.take() else { break };
                if round > 0 {
                    // Unprocessed keys mean throttling: back off a little.
                    tokio::time::sleep(Duration::from_millis(20 << round)).await;
                }
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|err| store_error(&err))?;
                for item in output
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default()
                {
                    match serde_dynamo::from_item::<_, RepItem>(item) {
                        Ok(rep) => {
                            statuses.insert(rep.rep.clone(), rep.status());
                        }
                        Err(err) => {
                            tracing::error!(error = %err, "unreadable rep item: read as present")
                        }
                    }
                }
                pending = output
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|k| !k.keys().is_empty());
            }
            if pending.is_some() {
                return Err(StoreError::Unavailable(
                    "the reps' statuses could not all be read (throttled)".into(),
                ));
            }
        }
        Ok(Roster::new(statuses))
    }

    async fn set_away(
        &self,
        rep: &str,
        away: &Away,
        only_if_present: bool,
    ) -> Result<bool, StoreError> {
        let (since, until, reason) = away_values(away);
        let mut update = self
            .rep_key(self.client.update_item(), rep)
            .expression_attribute_values(":entity", AttributeValue::S("rep".into()))
            .expression_attribute_values(":rep", AttributeValue::S(firsthour::roster::rep_key(rep)))
            .expression_attribute_values(":since", AttributeValue::S(since))
            .expression_attribute_values(":reason", AttributeValue::S(reason));
        let sets = "SET entity = :entity, rep = :rep, away_since = :since, away_reason = :reason";
        update = match until {
            Some(until) => update
                .update_expression(format!("{sets}, away_until = :until"))
                .expression_attribute_values(":until", number(until)),
            None => update.update_expression(format!("{sets} REMOVE away_until")),
        };
        if only_if_present {
            // Not away, or away no longer at `since`.
            update = update
                .condition_expression(
                    "attribute_not_exists(away_since) OR (attribute_exists(away_until) AND away_until <= :now)",
                )
                .expression_attribute_values(":now", number(unix_millis(away.since)));
        }
        conditional(update.send().await)
    }

    async fn set_back(&self, rep: &str) -> Result<(), StoreError> {
        conditional(
            self.rep_key(self.client.update_item(), rep)
                .update_expression("REMOVE away_since, away_until, away_reason, missed")
                .condition_expression("attribute_exists(pk)")
                .send()
                .await,
        )
        .map(|_| ())
    }

    async fn add_missed(&self, rep: &str) -> Result<u32, StoreError> {
        let output = self
            .rep_key(self.client.update_item(), rep)
            .update_expression("SET entity = :entity, rep = :rep ADD missed :one")
            .expression_attribute_values(":entity", AttributeValue::S("rep".into()))
            .expression_attribute_values(":rep", AttributeValue::S(firsthour::roster::rep_key(rep)))
            .expression_attribute_values(":one", number(1))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|err| store_error(&err))?;
        Ok(counter_value(output.attributes, "missed")
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(1))
    }

    async fn reset_missed(&self, rep: &str) -> Result<(), StoreError> {
        // Only a rep with a streak is written to: a claim by anyone else costs a failed condition.
        conditional(
            self.rep_key(self.client.update_item(), rep)
                .update_expression("REMOVE missed")
                .condition_expression("missed > :zero")
                .expression_attribute_values(":zero", number(0))
                .send()
                .await,
        )
        .map(|_| ())
    }
}
