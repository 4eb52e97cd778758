//! Who is working right now, beyond the rules file: reps set away (with
//! `firsthour reps away`, their email's "I'm away" link, or auto-away), and
//! how many of a rep's leads in a row moved on without them acting.

use std::collections::HashMap;

use time::OffsetDateTime;

use crate::routing::Rep;

/// A rep's away state. It ends by itself at `until`; without one, when the
/// rep comes back (the link or `firsthour reps back`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Away {
    pub since: OffsetDateTime,
    pub until: Option<OffsetDateTime>,
    /// Why, in a few words (`vacation`, `auto: 2 leads reassigned unanswered`).
    pub reason: String,
}

impl Away {
    /// Whether the state still holds at `now`.
    pub fn holds_at(&self, now: OffsetDateTime) -> bool {
        self.until.is_none_or(|until| now < until)
    }
}

/// What the table knows of one rep.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepStatus {
    pub away: Option<Away>,
    /// Leads reassigned from the rep in a row, without them claiming or
    /// touching any lead in between.
    pub missed: u32,
}

/// The statuses of some reps, by address (any case).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roster(HashMap<String, RepStatus>);

/// How a rep's address is keyed: the same whatever case the file or a
/// link wrote it in.
pub fn rep_key(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

impl Roster {
    pub fn new(statuses: HashMap<String, RepStatus>) -> Self {
        Self(
            statuses
                .into_iter()
                .map(|(email, status)| (rep_key(&email), status))
                .collect(),
        )
    }

    pub fn status(&self, email: &str) -> Option<&RepStatus> {
        self.0.get(&rep_key(email))
    }

    /// The rep's away state, if it holds at `now`.
    pub fn away_at(&self, email: &str, now: OffsetDateTime) -> Option<&Away> {
        self.status(email)
            .and_then(|s| s.away.as_ref())
            .filter(|away| away.holds_at(now))
    }

    /// Whether the rep may take a new lead at `now`: not away, within hours.
    pub fn available(&self, rep: &Rep, now: OffsetDateTime) -> bool {
        self.away_at(&rep.email, now).is_none()
            && rep.calendar.as_ref().is_none_or(|c| c.is_open(now))
    }

    /// When the rep can next take a lead: the end of their away state (if
    /// it has one), then the start of their hours. `None`: away until they
    /// say they are back.
    pub fn available_from(&self, rep: &Rep, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let back = match self.away_at(&rep.email, now) {
            Some(away) => away.until?,
            None => now,
        };
        Some(rep.calendar.as_ref().map_or(back, |c| c.next_open(back)))
    }
}

/// Until when a rep who says "I'm away" from their email is away: the start
/// of their next working day (their calendar's), or a day without one.
pub fn away_until_next_working_day(rep: Option<&Rep>, now: OffsetDateTime) -> OffsetDateTime {
    match rep.and_then(|r| r.calendar.as_ref()) {
        Some(calendar) => calendar.next_working_day(now),
        None => now + time::Duration::days(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-01 15:00 UTC);

    fn rep(email: &str) -> Rep {
        Rep {
            email: email.into(),
            weight: 1,
            calendar: None,
            max_per_day: None,
        }
    }

    #[test]
    fn an_away_state_ends_by_itself_at_until() {
        let roster = Roster::new(HashMap::from([(
            "Ana@Example.com".to_owned(),
            RepStatus {
                away: Some(Away {
                    since: NOW,
                    until: Some(NOW + time::Duration::hours(2)),
                    reason: "dentist".into(),
                }),
                missed: 0,
            },
        )]));
        let ana = rep("ana@example.com");
        assert!(!roster.available(&ana, NOW));
        assert_eq!(
            roster.available_from(&ana, NOW),
            Some(NOW + time::Duration::hours(2))
        );
        assert!(roster.available(&ana, NOW + time::Duration::hours(2)));
        assert!(roster.available(&rep("bo@example.com"), NOW));
    }

    #[test]
    fn away_without_an_end_is_never_available_by_itself() {
        let roster = Roster::new(HashMap::from([(
            "ana@example.com".to_owned(),
            RepStatus {
                away: Some(Away {
                    since: NOW,
                    until: None,
                    reason: "leave".into(),
                }),
                missed: 0,
            },
        )]));
        assert_eq!(roster.available_from(&rep("ana@example.com"), NOW), None);
        assert!(!roster.available(&rep("ana@example.com"), NOW + time::Duration::days(400)));
    }
}
