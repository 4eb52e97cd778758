//! `firsthour leads`: the leads as the people who run firsthour see them,
//! and what they may do to one by hand: list, show, reassign, unclaim,
//! and forget a person (a privacy request).
//!
//! The table is found as `report` finds it (`--table`,
//! `FIRSTHOUR_TABLE_NAME`, else the local table), and reps, ladders and
//! spam settings come from the rules file, as `reps` reads it.

mod forget;
mod list;
mod manage;
mod show;

use std::path::PathBuf;

use clap::Subcommand;
use firsthour::config::FileConfig;
use firsthour::lead::LeadId;
use firsthour::ports::{RoutingStore, StoreError};
use firsthour::record::LeadRecord;
use firsthour_aws::DynamoLeadStore;

use crate::confirm::NotConfirmed;
use crate::report::LOCAL_TABLE;

#[derive(Debug, clap::Args)]
pub struct LeadsArgs {
    #[command(subcommand)]
    command: LeadsCommand,
    /// The lead table (the stack's TableName output in AWS).
    #[arg(long, global = true, env = "FIRSTHOUR_TABLE_NAME", default_value = LOCAL_TABLE)]
    table: String,
    /// The rules file: its reps (reassign), ladders (unclaim) and spam
    /// settings (forget finds the dedupe markers with them).
    #[arg(long, global = true, default_value = "infra/config/firsthour.toml")]
    rules: PathBuf,
}

#[derive(Debug, Subcommand)]
enum LeadsCommand {
    /// Leads, newest first: all, or those waiting (--untouched) or late
    /// (--overdue). No personal data unless --contacts.
    List(list::ListArgs),
    /// One lead's whole history: contact, fields, sector, routing, every stamp.
    Show {
        id: String,
        /// The lead as JSON (its attributes by their table names).
        #[arg(long)]
        json: bool,
    },
    /// Move a lead to another rep by hand: the old owner's claim link stops
    /// working and the new owner is emailed a claim link of their own.
    Reassign(manage::ReassignArgs),
    /// Take a claim back: the lead goes back on its ladder from the next tier.
    Unclaim {
        id: String,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
    /// Delete every lead of a person, and every item that belongs to them
    /// (a privacy request).
    Forget {
        /// The person's email address.
        #[arg(long, value_name = "ADDRESS")]
        email: String,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum LeadsError {
    /// Something on the command line is wrong.
    #[error("{0}")]
    Args(String),
    #[error("no lead {id} in table {table}")]
    NotFound { id: LeadId, table: String },
    /// The lead is not in a state the command can act on.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    NotConfirmed(#[from] NotConfirmed),
    #[error("table {table}: {source}")]
    Table { table: String, source: StoreError },
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Mail(String),
    #[error("cannot format the output: {0}")]
    Format(String),
}

pub fn run(args: LeadsArgs) -> Result<String, String> {
    crate::block_on(async move { dispatch(args).await.map_err(|e| e.to_string()) })
}

async fn dispatch(args: LeadsArgs) -> Result<String, LeadsError> {
    // What the command line says is checked before anything is read.
    match &args.command {
        LeadsCommand::Show { id, .. } | LeadsCommand::Unclaim { id, .. } => {
            lead_id(id)?;
        }
        LeadsCommand::Reassign(reassign) => {
            lead_id(&reassign.id)?;
        }
        LeadsCommand::Forget { email, .. } => {
            forget::address(email)?;
        }
        LeadsCommand::List(_) => {}
    }
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let store = DynamoLeadStore::new(aws_sdk_dynamodb::Client::new(&sdk), &args.table);
    match args.command {
        LeadsCommand::List(list) => list::run(&store, list).await,
        LeadsCommand::Show { id, json } => show::run(&store, &lead_id(&id)?, json).await,
        LeadsCommand::Reassign(reassign) => {
            let config = rules(&args.rules)?;
            manage::reassign(&store, &sdk, &config, reassign).await
        }
        LeadsCommand::Unclaim { id, yes } => {
            let config = rules(&args.rules)?;
            manage::unclaim(&store, &config, &lead_id(&id)?, yes).await
        }
        LeadsCommand::Forget { email, yes } => {
            let config = rules(&args.rules)?;
            forget::run(&store, &config, &email, yes).await
        }
    }
}

fn rules(path: &std::path::Path) -> Result<FileConfig, LeadsError> {
    crate::load_config(Some(path), None).map_err(|e| LeadsError::Config(format!("--rules: {e}")))
}

/// A lead id from the command line.
pub(crate) fn lead_id(raw: &str) -> Result<LeadId, LeadsError> {
    LeadId::parse(raw.trim()).ok_or_else(|| {
        LeadsError::Args(format!(
            "{raw:?} is not a lead id: ids are 26-character ULIDs, like 01KAQ5V3N6X5J0C9W4Y2B7D8EF"
        ))
    })
}

/// The stored lead, or why not.
async fn stored_lead(store: &DynamoLeadStore, id: &LeadId) -> Result<LeadRecord, LeadsError> {
    store
        .get_lead(id)
        .await
        .map_err(|source| table_error(store, source))?
        .ok_or_else(|| LeadsError::NotFound {
            id: id.clone(),
            table: store.table().to_owned(),
        })
}

/// A DynamoDB read's error, as the ports classify one (the store's own
/// classification): a throttle, a 5xx, a timeout or no connection is
/// worth retrying; anything else the service said no to (a missing table,
/// a denied read) will not go better retried.
pub(crate) fn read_error<E>(
    err: &aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error,
{
    if firsthour_aws::is_transient(err) {
        StoreError::Unavailable(crate::aws_error::describe(err))
    } else {
        StoreError::Rejected(crate::aws_error::describe(err))
    }
}

fn table_error(store: &DynamoLeadStore, source: StoreError) -> LeadsError {
    LeadsError::Table {
        table: store.table().to_owned(),
        source,
    }
}

/// Where a lead stands, in a word or two: `new` (not routed yet),
/// `routed`, `notified`, `notify failed`, `escalated N` (the last tier
/// that fired), `breached`, `claimed` (by a link, nothing more yet),
/// `touched` (a real response, or more than the claim).
pub(crate) fn state_of(lead: &LeadState) -> String {
    if lead.claimed {
        return if lead.responded || lead.touches > 1 {
            "touched".into()
        } else {
            "claimed".into()
        };
    }
    if lead.breached {
        return "breached".into();
    }
    if let Some(tier) = lead.escalated_tier {
        return format!("escalated {tier}");
    }
    match (lead.routed, lead.notified, lead.notify_failed) {
        (false, _, _) => "new".into(),
        (true, true, _) => "notified".into(),
        (true, false, true) => "notify failed".into(),
        (true, false, false) => "routed".into(),
    }
}

/// What [`state_of`] looks at.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LeadState {
    pub routed: bool,
    pub notified: bool,
    pub notify_failed: bool,
    /// The last tier that fired, the breach aside.
    pub escalated_tier: Option<u32>,
    pub breached: bool,
    pub claimed: bool,
    pub responded: bool,
    pub touches: u32,
}

impl LeadState {
    pub fn of(lead: &LeadRecord) -> Self {
        let sla = &lead.sla;
        Self {
            routed: sla.routing_state == firsthour::record::RoutingState::Routed,
            notified: sla.notified_at.is_some(),
            notify_failed: sla.notify_failed_at.is_some(),
            escalated_tier: sla
                .escalations
                .iter()
                .filter(|e| !e.breach)
                .map(|e| e.tier)
                .max(),
            breached: sla.breached_at.is_some(),
            claimed: sla.claimed_at.is_some(),
            responded: sla.first_response_at.is_some(),
            touches: sla.touches,
        }
    }
}

/// A duration as people read it (`4m 05s`, `2h 10m`, `3d 4h`); never negative.
pub(crate) fn age(ms: i64) -> String {
    crate::report::model::human_duration(ms.max(0))
}

/// A stored stamp (`2026-11-23T15:00:00.000Z`) as `2026-11-23 15:00:00 UTC`.
pub(crate) fn readable(stamp: &str) -> String {
    match (stamp.get(..10), stamp.get(11..19)) {
        (Some(day), Some(time)) if stamp.len() >= 19 => format!("{day} {time} UTC"),
        _ => stamp.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::config::http::HttpResponse;
    use aws_sdk_dynamodb::error::{ErrorMetadata, SdkError};
    use aws_sdk_dynamodb::operation::query::QueryError;

    use super::*;

    /// DynamoDB's answer `status` with the error `code`.
    fn answered(status: u16, code: &str) -> SdkError<QueryError, HttpResponse> {
        SdkError::service_error(
            QueryError::generic(ErrorMetadata::builder().code(code).message("no").build()),
            HttpResponse::new(status.try_into().expect("a status"), "".into()),
        )
    }

    #[test]
    fn a_read_error_is_transient_when_retrying_can_help() {
        for code in [
            "ThrottlingException",
            "ProvisionedThroughputExceededException",
            "RequestLimitExceeded",
            "InternalServerError",
        ] {
            let err = read_error(&answered(400, code));
            assert!(err.is_retryable(), "{code}: {err}");
            assert!(err.to_string().contains(code), "{err}");
        }
        let timed_out: SdkError<QueryError, HttpResponse> = SdkError::timeout_error("slow");
        assert_eq!(
            read_error(&timed_out),
            StoreError::Unavailable("timed out".into())
        );
        for code in ["ResourceNotFoundException", "AccessDeniedException"] {
            let err = read_error(&answered(400, code));
            assert!(!err.is_retryable(), "{code}: {err}");
            assert_eq!(err, StoreError::Rejected(format!("{code}: no")));
        }
    }
}
