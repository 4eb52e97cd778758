//! `firsthour leads forget --email ADDRESS`: a privacy request. Every lead
//! of the person, and every item that belongs to one, deleted.
//!
//! What a lead writes (docs/table.md, and the intake's transaction in
//! `firsthour-aws`'s `dynamo` module), and how each is found from the
//! address alone, never by a scan:
//!
//! * its contact marker, `CONTACT#<sha256 of the address>` / `LEAD#<id>`:
//!   a query on the address's marker partition gives every lead id (the
//!   way in: no address is in any key);
//! * the lead item, `LEAD#<id>` / `LEAD`, and its touch markers,
//!   `LEAD#<id>` / `TOUCH#…`: a query on the lead's partition;
//! * its dedupe markers, `DEDUP#delivery#…` and `DEDUP#content#…`: their
//!   keys are hashes the stored lead lets us compute again (the source and
//!   delivery id; the contact, every field and the rules file's spam
//!   settings), each deleted only while it still names the lead. A lead
//!   cut to fit (or a delivery id over 256 bytes) no longer hashes to its
//!   markers: those hold no personal data (a hash and the lead's id) and
//!   TTL deletes them within the dedupe window (24 h by default).
//!
//! Counters (round robin, daily caps, the per-address rate limit) and rep
//! state hold no lead's data. Contact markers expire 91 days after their
//! lead: an older lead is no longer found by its address.

use std::collections::BTreeMap;

use firsthour::config::FileConfig;
use firsthour::dedup::{contact_key, content_key, delivery_key};
use firsthour::email::EmailAddress;
use firsthour::lead::{Contact, Lead, LeadId};
use firsthour::ports::RoutingStore;
use firsthour::record::LeadRecord;
use firsthour_aws::DynamoLeadStore;
use firsthour_aws::dynamo::operator_store::ItemKey;

use super::{LeadsError, table_error};
use crate::confirm::confirm;

/// The address of a privacy request, checked as the intake checks one.
pub fn address(raw: &str) -> Result<EmailAddress, LeadsError> {
    EmailAddress::parse(raw.trim())
        .map_err(|e| LeadsError::Args(format!("--email {raw:?} is not an email address: {e}")))
}

/// What an item is, as the plan and the result count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Touch,
    Delivery,
    Content,
    Lead,
    Contact,
}

impl Kind {
    fn name(self, count: usize) -> String {
        let (one, many) = match self {
            Kind::Lead => ("lead item", "lead items"),
            Kind::Touch => ("touch marker", "touch markers"),
            Kind::Delivery => ("delivery-id marker", "delivery-id markers"),
            Kind::Content => ("content marker", "content markers"),
            Kind::Contact => ("contact marker", "contact markers"),
        };
        format!("{count} {}", if count == 1 { one } else { many })
    }
}

/// One item to delete; markers only while they still name `owner`.
#[derive(Debug, Clone)]
struct Doomed {
    kind: Kind,
    key: ItemKey,
    owner: Option<LeadId>,
}

/// Everything of one lead.
#[derive(Debug, Default)]
struct LeadPlan {
    items: Vec<Doomed>,
}

impl LeadPlan {
    fn summary(&self, done: Option<&[bool]>) -> String {
        let mut counts: BTreeMap<Kind, usize> = BTreeMap::new();
        for (i, item) in self.items.iter().enumerate() {
            if done.is_none_or(|d| d.get(i).copied().unwrap_or(false)) {
                *counts.entry(item.kind).or_default() += 1;
            }
        }
        if counts.is_empty() {
            return "nothing left".to_owned();
        }
        counts
            .iter()
            .map(|(kind, n)| kind.name(*n))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The lead as the intake had it when it hashed the content marker.
fn as_submitted(lead: &LeadRecord) -> Lead {
    let c = &lead.contact;
    Lead {
        id: lead.id.clone(),
        received_at: lead.received_at,
        source: lead.source.clone(),
        contact: Contact {
            email: c.email.as_deref().and_then(|e| EmailAddress::parse(e).ok()),
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            full_name: c.full_name.clone(),
            company: c.company.clone(),
            phone: c.phone.clone(),
            job_title: c.job_title.clone(),
            message: c.message.clone(),
            page_url: c.page_url.clone(),
            referrer: c.referrer.clone(),
            org_type: None,
            utm: c.utm.clone(),
        },
        client_ip: lead.submission.origin.client_ip.clone(),
        user_agent: lead.submission.origin.user_agent.clone(),
        delivery_id: lead.submission.origin.delivery_id.clone(),
        fields: lead.submission.fields.clone(),
        truncated: lead.submission.truncated.clone(),
        ignored_files: lead.submission.ignored_files.clone(),
        guessed: lead.submission.guessed.clone(),
    }
}

/// Everything of lead `id` (`lead`: its item as read, if any) to delete.
async fn plan_lead(
    store: &DynamoLeadStore,
    config: &FileConfig,
    id: &LeadId,
    lead: Option<&LeadRecord>,
    contact: ItemKey,
) -> Result<LeadPlan, LeadsError> {
    let mut plan = LeadPlan::default();
    for key in store
        .lead_partition(id)
        .await
        .map_err(|e| table_error(store, e))?
    {
        let kind = if key.sk == firsthour_aws::table::LEAD_SK {
            Kind::Lead
        } else {
            Kind::Touch
        };
        plan.items.push(Doomed {
            kind,
            key,
            owner: None,
        });
    }
    if let Some(lead) = lead {
        let origin = &lead.submission.origin;
        let cut_id = lead.submission.truncated.iter().any(|t| t == "delivery_id");
        let mut markers = Vec::new();
        if let Some(delivery_id) = origin.delivery_id.as_deref().filter(|_| !cut_id) {
            markers.push((Kind::Delivery, delivery_key(&lead.source, delivery_id)));
        }
        markers.push((
            Kind::Content,
            content_key(&as_submitted(lead), &config.spam),
        ));
        for (kind, key) in markers {
            if let Some(key) = store
                .marker_of(&key, id)
                .await
                .map_err(|e| table_error(store, e))?
            {
                plan.items.push(Doomed {
                    kind,
                    key,
                    owner: Some(id.clone()),
                });
            }
        }
    }
    plan.items.push(Doomed {
        kind: Kind::Contact,
        key: contact,
        owner: Some(id.clone()),
    });
    Ok(plan)
}

pub async fn run(
    store: &DynamoLeadStore,
    config: &FileConfig,
    raw: &str,
    yes: bool,
) -> Result<String, LeadsError> {
    let address = address(raw)?;
    let key = contact_key(address.as_str());
    let markers = store
        .contact_markers(&key)
        .await
        .map_err(|e| table_error(store, e))?;
    let table = store.table();
    if markers.is_empty() {
        return Ok(format!(
            "No leads of {address} in table {table}: nothing to delete (leads are found by \
             their contact markers, which are kept 91 days after each lead)."
        ));
    }
    let mut plans: Vec<(LeadId, LeadPlan)> = Vec::new();
    for (marker, id) in markers {
        let lead = store
            .get_lead(&id)
            .await
            .map_err(|e| table_error(store, e))?;
        // A lead whose stored address is another's is not this person's.
        if lead.as_ref().is_some_and(|lead| {
            lead.contact
                .email
                .as_deref()
                .is_some_and(|e| contact_key(e) != key)
        }) {
            eprintln!("firsthour leads forget: lead {id} is another address's: left alone");
            continue;
        }
        let plan = plan_lead(store, config, &id, lead.as_ref(), marker).await?;
        plans.push((id, plan));
    }
    let total: usize = plans.iter().map(|(_, p)| p.items.len()).sum();
    let mut listing = format!(
        "{} lead{} of {address} in table {table}, {total} items:",
        plans.len(),
        if plans.len() == 1 { "" } else { "s" }
    );
    for (id, plan) in &plans {
        listing.push_str(&format!("\n  {id}: {}", plan.summary(None)));
    }
    eprintln!("{listing}");
    confirm(&format!("Delete these {total} items for good?"), yes)?;
    // Markers and the lead first, the contact marker last: a run cut short
    // can be run again, as the person is still found by their address.
    let mut lines = Vec::new();
    let mut deleted_total = 0;
    for (id, plan) in &plans {
        let mut order: Vec<usize> = (0..plan.items.len()).collect();
        order.sort_by_key(|&i| plan.items[i].kind);
        let mut done = vec![false; plan.items.len()];
        for i in order {
            let item = &plan.items[i];
            done[i] = store
                .delete_item(&item.key, item.owner.as_ref())
                .await
                .map_err(|e| {
                    LeadsError::Refused(format!(
                        "deleting lead {id}'s items stopped: {e}; run this again to finish \
                         (what is left is still found by the address)"
                    ))
                })?;
        }
        deleted_total += done.iter().filter(|d| **d).count();
        lines.push(format!("  {id}: {}", plan.summary(Some(&done))));
    }
    Ok(format!(
        "Forgot {address}: deleted {deleted_total} items of {} lead{} from table {table}.\n{}\n\
         Emails already sent, chat posts and copies in other systems (a CRM) are not in the \
         table: remove them there.",
        plans.len(),
        if plans.len() == 1 { "" } else { "s" },
        lines.join("\n")
    ))
}
