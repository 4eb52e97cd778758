//! A rep's "I'm away, give my new leads to someone else" link, from any
//! notification email: opening it shows where they stand and a button
//! (mail gateways open every link); the button sets them away until their
//! next working day, or back. Idempotent: the same press twice is the same state.

use time::OffsetDateTime;

use crate::claim::{ClaimLinkError, LinkKey};
use crate::ports::{Clock, RepStore, StoreError};
use crate::roster::{Away, away_until_next_working_day, rep_key};
use crate::routing::{Rep, Routing};

/// Why an away link shows nothing, or could not be acted on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwayError {
    #[error("away links are not enabled")]
    NotEnabled,
    #[error("the away link is incomplete")]
    Incomplete,
    #[error(transparent)]
    Link(#[from] ClaimLinkError),
    /// Signed, but the rep is in no team now (removed since the email).
    #[error("{0} is not a rep of any team any more")]
    NotARep(String),
    #[error("the rep's state could not be read or written: {0}")]
    Store(#[from] StoreError),
}

/// What the button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwayAction {
    Away,
    Back,
}

impl AwayAction {
    /// The button's form (`action=back`; anything else is away, the link's purpose).
    pub fn from_form(body: &[u8]) -> Self {
        let back = url::form_urlencoded::parse(body)
            .any(|(name, value)| name == "action" && value == "back");
        if back { Self::Back } else { Self::Away }
    }
}

/// Where a rep stands, for the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepView {
    pub rep: String,
    /// Away now (and how long).
    pub away: Option<Away>,
    /// Until when the button would set them away.
    pub would_be_away_until: OffsetDateTime,
}

pub struct AwayService<S, C> {
    store: S,
    clock: C,
    link_key: Option<LinkKey>,
    routing: Routing,
}

impl<S: RepStore, C: Clock> AwayService<S, C> {
    pub fn new(store: S, clock: C, link_key: Option<LinkKey>, routing: Routing) -> Self {
        Self {
            store,
            clock,
            link_key,
            routing,
        }
    }

    /// The rep a link was signed for, when its signature holds.
    pub fn open(
        &self,
        rep: Option<String>,
        expires: Option<String>,
        signature: Option<String>,
    ) -> Result<String, AwayError> {
        let key = self.link_key.as_ref().ok_or(AwayError::NotEnabled)?;
        let (Some(rep), Some(expires), Some(signature)) = (rep, expires, signature) else {
            return Err(AwayError::Incomplete);
        };
        key.verify_away(&rep, &expires, &signature, self.clock.now())
            .inspect_err(|err| tracing::warn!(reason = %err, "away link refused"))?;
        let known = self.rep(&rep).map(|r| r.email.clone());
        known.ok_or(AwayError::NotARep(rep))
    }

    fn rep(&self, email: &str) -> Option<&Rep> {
        let mut teams: Vec<_> = self.routing.teams.values().collect();
        teams.sort_by(|a, b| a.name.cmp(&b.name));
        teams
            .into_iter()
            .flat_map(|t| &t.rotation)
            .find(|r| r.email.eq_ignore_ascii_case(email))
    }

    /// Where the rep stands now (reads only).
    pub async fn view(&self, rep: &str) -> Result<RepView, AwayError> {
        let now = self.clock.now();
        let roster = self.store.rep_statuses(&[rep]).await?;
        Ok(RepView {
            rep: rep.to_owned(),
            away: roster.away_at(rep, now).cloned(),
            would_be_away_until: away_until_next_working_day(self.rep(rep), now),
        })
    }

    /// The button: away until the rep's next working day, or back.
    pub async fn act(&self, rep: &str, action: AwayAction) -> Result<RepView, AwayError> {
        let now = self.clock.now();
        match action {
            AwayAction::Away => {
                let away = Away {
                    since: now,
                    until: Some(away_until_next_working_day(self.rep(rep), now)),
                    reason: "set from the away link".into(),
                };
                self.store.set_away(rep, &away, false).await?;
                tracing::info!(rep = %rep_key(rep), "rep set away by their link");
            }
            AwayAction::Back => {
                self.store.set_back(rep).await?;
                tracing::info!(rep = %rep_key(rep), "rep back by their link");
            }
        }
        self.view(rep).await
    }
}
