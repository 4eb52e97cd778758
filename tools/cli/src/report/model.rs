//! The response-time report, computed from the stamps the functions wrote on
//! each lead (never from logs): the HBR buckets, time to first touch,
//! escalations per tier and fallback hits, per segment and source.

use std::collections::BTreeMap;

use serde::Serialize;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Which moment the buckets measure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// The first real response: a tracked reply, a call, a meeting, a CRM
    /// activity (what the HBR and MIT figures are about).
    #[default]
    Response,
    /// The first claim or touch, whichever came first (an acknowledgement counts).
    Claim,
}

impl Measure {
    /// A few words, for the chart's titles.
    pub fn short(self) -> &'static str {
        match self {
            Self::Response => "first response",
            Self::Claim => "first touch",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Response => "first response (reply, call, meeting, CRM activity)",
            Self::Claim => "first touch (a claim counts)",
        }
    }
}

/// What the report needs of one lead: no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeadRecord {
    pub segment: String,
    pub source: String,
    pub received_at_ms: i64,
    /// Milliseconds from arrival to the first claim or touch.
    pub ms_to_first_touch: Option<i64>,
    /// Milliseconds from arrival to the first response (not a claim).
    pub ms_to_first_response: Option<i64>,
    /// How the first response came: `email` (a tracked reply), `call`…
    pub response_channel: Option<String>,
    pub ms_to_notify: Option<i64>,
    /// Tiers that fired (1 = the ladder's first); the breach is flagged apart.
    pub escalated_tiers: Vec<u32>,
    pub breached: bool,
    /// A tier moved it to another owner at least once.
    pub reassigned: bool,
    pub fallback: bool,
}

/// The HBR response buckets, each lead in exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    #[serde(rename = "within_5_min")]
    Within5Min,
    #[serde(rename = "within_1_hour")]
    Within1Hour,
    #[serde(rename = "within_24_hours")]
    Within24Hours,
    Later,
    Never,
    /// Untouched and younger than 24 hours: may still be answered in time.
    Waiting,
}

impl Bucket {
    pub const ALL: [Bucket; 6] = [
        Bucket::Within5Min,
        Bucket::Within1Hour,
        Bucket::Within24Hours,
        Bucket::Later,
        Bucket::Never,
        Bucket::Waiting,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Within5Min => "≤ 5 min",
            Self::Within1Hour => "≤ 1 h",
            Self::Within24Hours => "≤ 24 h",
            Self::Later => "> 24 h",
            Self::Never => "never",
            Self::Waiting => "waiting",
        }
    }

    pub fn of(record: &LeadRecord, now_ms: i64, measure: Measure) -> Self {
        let ms = match measure {
            Measure::Response => record.ms_to_first_response,
            Measure::Claim => record.ms_to_first_touch,
        };
        match ms {
            Some(ms) if ms <= 5 * MINUTE => Self::Within5Min,
            Some(ms) if ms <= HOUR => Self::Within1Hour,
            Some(ms) if ms <= DAY => Self::Within24Hours,
            Some(_) => Self::Later,
            None if now_ms - record.received_at_ms >= DAY => Self::Never,
            None => Self::Waiting,
        }
    }
}

/// The figures of one group of leads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupStats {
    pub segment: String,
    /// `None` for the segment's total (and the overall total).
    pub source: Option<String>,
    pub leads: u64,
    pub buckets: BTreeMap<Bucket, u64>,
    /// Share of all the group's leads answered within 5 min, 1 h, 24 h (cumulative).
    pub answered_within_5_min: f64,
    pub answered_within_1_hour: f64,
    pub answered_within_24_hours: f64,
    pub answered_later: f64,
    pub never_answered: f64,
    pub waiting: u64,
    /// Over the answered leads.
    pub p50_ms_to_first_touch: Option<i64>,
    pub p90_ms_to_first_touch: Option<i64>,
    pub p50_ms_to_first_response: Option<i64>,
    pub p90_ms_to_first_response: Option<i64>,
    /// How the first responses came: a tracked email reply; a CRM or the
    /// touch API (call, meeting…); and leads claimed with no response yet.
    pub responded_by_reply: u64,
    pub responded_by_crm: u64,
    pub claim_only: u64,
    pub p50_ms_to_notify: Option<i64>,
    /// Escalations that fired, by tier number.
    pub escalations: BTreeMap<u32, u64>,
    pub breaches: u64,
    /// Leads a tier moved to another owner.
    pub reassigned: u64,
    pub fallback_hits: u64,
    /// Every answered lead's time, as the report measures it, sorted (for the chart).
    #[serde(skip)]
    pub touch_times: Vec<i64>,
    #[serde(skip)]
    claim_times: Vec<i64>,
    #[serde(skip)]
    response_times: Vec<i64>,
}

impl GroupStats {
    fn new(segment: &str, source: Option<&str>) -> Self {
        Self {
            segment: segment.to_owned(),
            source: source.map(str::to_owned),
            leads: 0,
            buckets: Bucket::ALL.iter().map(|b| (*b, 0)).collect(),
            answered_within_5_min: 0.0,
            answered_within_1_hour: 0.0,
            answered_within_24_hours: 0.0,
            answered_later: 0.0,
            never_answered: 0.0,
            waiting: 0,
            p50_ms_to_first_touch: None,
            p90_ms_to_first_touch: None,
            p50_ms_to_first_response: None,
            p90_ms_to_first_response: None,
            responded_by_reply: 0,
            responded_by_crm: 0,
            claim_only: 0,
            p50_ms_to_notify: None,
            escalations: BTreeMap::new(),
            breaches: 0,
            reassigned: 0,
            fallback_hits: 0,
            touch_times: Vec::new(),
            claim_times: Vec::new(),
            response_times: Vec::new(),
        }
    }

    /// The share of the group's leads in `bucket`, as the table shows it:
    /// cumulative up to 24 h (`≤ 1 h` includes `≤ 5 min`), per band after.
    pub fn share(&self, bucket: Bucket) -> f64 {
        match bucket {
            Bucket::Within5Min => self.answered_within_5_min,
            Bucket::Within1Hour => self.answered_within_1_hour,
            Bucket::Within24Hours => self.answered_within_24_hours,
            Bucket::Later => self.answered_later,
            Bucket::Never => self.never_answered,
            Bucket::Waiting => self.waiting as f64 / self.leads.max(1) as f64,
        }
    }

    fn add(&mut self, record: &LeadRecord, bucket: Bucket, notify_times: &mut Vec<i64>) {
        self.leads += 1;
        *self.buckets.entry(bucket).or_default() += 1;
        if let Some(ms) = record.ms_to_first_touch {
            self.claim_times.push(ms);
        }
        if let Some(ms) = record.ms_to_first_response {
            self.response_times.push(ms);
        }
        match (record.response_channel.as_deref(), record.ms_to_first_touch) {
            (Some("email"), _) => self.responded_by_reply += 1,
            (Some(_), _) => self.responded_by_crm += 1,
            (None, Some(_)) => self.claim_only += 1,
            (None, None) => {}
        }
        if let Some(ms) = record.ms_to_notify {
            notify_times.push(ms);
        }
        for tier in &record.escalated_tiers {
            *self.escalations.entry(*tier).or_default() += 1;
        }
        self.breaches += u64::from(record.breached);
        self.reassigned += u64::from(record.reassigned);
        self.fallback_hits += u64::from(record.fallback);
    }

    fn finish(&mut self, mut notify_times: Vec<i64>, measure: Measure) {
        let share = |buckets: &[Bucket]| {
            let n: u64 = buckets.iter().map(|b| self.buckets[b]).sum();
            if self.leads == 0 {
                0.0
            } else {
                n as f64 / self.leads as f64
            }
        };
        use Bucket::*;
        self.answered_within_5_min = share(&[Within5Min]);
        self.answered_within_1_hour = share(&[Within5Min, Within1Hour]);
        self.answered_within_24_hours = share(&[Within5Min, Within1Hour, Within24Hours]);
        self.answered_later = share(&[Later]);
        self.never_answered = share(&[Never]);
        self.waiting = self.buckets[&Waiting];
        self.claim_times.sort_unstable();
        self.response_times.sort_unstable();
        notify_times.sort_unstable();
        self.p50_ms_to_first_touch = percentile(&self.claim_times, 50);
        self.p90_ms_to_first_touch = percentile(&self.claim_times, 90);
        self.p50_ms_to_first_response = percentile(&self.response_times, 50);
        self.p90_ms_to_first_response = percentile(&self.response_times, 90);
        self.touch_times = match measure {
            Measure::Response => self.response_times.clone(),
            Measure::Claim => self.claim_times.clone(),
        };
        self.p50_ms_to_notify = percentile(&notify_times, 50);
    }
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (u64::from(p) * sorted.len() as u64).div_ceil(100).max(1);
    sorted.get(usize::try_from(rank - 1).ok()?).copied()
}

/// The whole report: per segment (with its sources), and overall.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub segments: Vec<GroupStats>,
    pub sources: Vec<GroupStats>,
    pub total: GroupStats,
    /// The highest tier number seen (columns of the table).
    pub max_tier: u32,
    /// What the buckets measure.
    pub measure: Measure,
}

impl Report {
    /// Groups the records; `now_ms` tells "never" from "waiting".
    pub fn build(records: &[LeadRecord], now_ms: i64, measure: Measure) -> Self {
        type Group = (GroupStats, Vec<i64>);
        let mut segments: BTreeMap<String, Group> = BTreeMap::new();
        let mut sources: BTreeMap<(String, String), Group> = BTreeMap::new();
        let mut total: Group = (GroupStats::new("all", None), Vec::new());
        let mut max_tier = 0;
        for record in records {
            let bucket = Bucket::of(record, now_ms, measure);
            max_tier = record
                .escalated_tiers
                .iter()
                .copied()
                .fold(max_tier, u32::max);
            let (stats, notify) = segments
                .entry(record.segment.clone())
                .or_insert_with(|| (GroupStats::new(&record.segment, None), Vec::new()));
            stats.add(record, bucket, notify);
            let (stats, notify) = sources
                .entry((record.segment.clone(), record.source.clone()))
                .or_insert_with(|| {
                    (
                        GroupStats::new(&record.segment, Some(&record.source)),
                        Vec::new(),
                    )
                });
            stats.add(record, bucket, notify);
            total.0.add(record, bucket, &mut total.1);
        }
        let finish = |(mut stats, notify): Group| {
            stats.finish(notify, measure);
            stats
        };
        Self {
            segments: segments.into_values().map(finish).collect(),
            sources: sources.into_values().map(finish).collect(),
            total: finish(total),
            max_tier,
            measure,
        }
    }

    /// Rows in reading order: each segment's total, then its sources; the overall total last.
    pub fn rows(&self) -> Vec<&GroupStats> {
        let mut rows = Vec::new();
        for segment in &self.segments {
            rows.push(segment);
            let own: Vec<&GroupStats> = self
                .sources
                .iter()
                .filter(|s| s.segment == segment.segment)
                .collect();
            // A segment fed by one source needs no breakdown line.
            if own.len() > 1 {
                rows.extend(own);
            }
        }
        rows.push(&self.total);
        rows
    }
}

/// "42 s", "3m 05s", "2h 10m", "3d 4h".
pub fn human_duration(ms: i64) -> String {
    let s = ms / 1000;
    match s {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(segment: &str, source: &str, touch_min: Option<i64>) -> LeadRecord {
        LeadRecord {
            segment: segment.into(),
            source: source.into(),
            received_at_ms: 0,
            ms_to_first_touch: touch_min.map(|m| m * MINUTE),
            ..LeadRecord::default()
        }
    }

    #[test]
    fn buckets_follow_the_hbr_cut_offs() {
        let now = 2 * DAY;
        let b = |min| Bucket::of(&lead("s", "w", min), now, Measure::Claim);
        assert_eq!(b(Some(0)), Bucket::Within5Min);
        assert_eq!(b(Some(5)), Bucket::Within5Min);
        assert_eq!(b(Some(6)), Bucket::Within1Hour);
        assert_eq!(b(Some(60)), Bucket::Within1Hour);
        assert_eq!(b(Some(61)), Bucket::Within24Hours);
        assert_eq!(b(Some(24 * 60)), Bucket::Within24Hours);
        assert_eq!(b(Some(24 * 60 + 1)), Bucket::Later);
        assert_eq!(b(None), Bucket::Never);
        assert_eq!(
            Bucket::of(&lead("s", "w", None), DAY - 1, Measure::Claim),
            Bucket::Waiting,
            "untouched but younger than a day"
        );
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&v, 50), Some(5));
        assert_eq!(percentile(&v, 90), Some(9));
        assert_eq!(percentile(&v, 100), Some(10));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn groups_per_segment_and_source_with_cumulative_shares() {
        let mut records = vec![
            lead("federal", "gov-portal", Some(2)),
            lead("federal", "gov-portal", Some(3)),
            lead("federal", "website", Some(30)),
            lead("federal", "website", None),
            lead("commercial", "website", Some(120)),
        ];
        records[3].escalated_tiers = vec![1, 2, 3, 4];
        records[3].breached = true;
        records[4].escalated_tiers = vec![1];
        records[4].fallback = true;
        let report = Report::build(&records, 3 * DAY, Measure::Claim);
        let federal = &report.segments[1];
        assert_eq!(federal.segment, "federal");
        assert_eq!(federal.leads, 4);
        assert_eq!(federal.answered_within_5_min, 0.5);
        assert_eq!(federal.answered_within_1_hour, 0.75);
        assert_eq!(federal.answered_within_24_hours, 0.75);
        assert_eq!(federal.never_answered, 0.25);
        assert_eq!(federal.p50_ms_to_first_touch, Some(3 * MINUTE));
        assert_eq!(federal.p90_ms_to_first_touch, Some(30 * MINUTE));
        assert_eq!(federal.escalations.get(&4), Some(&1));
        assert_eq!(federal.breaches, 1);
        assert_eq!(report.total.leads, 5);
        assert_eq!(report.total.fallback_hits, 1);
        assert_eq!(report.max_tier, 4);
        let rows: Vec<(String, Option<String>)> = report
            .rows()
            .iter()
            .map(|r| (r.segment.clone(), r.source.clone()))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("commercial".into(), None),
                ("federal".into(), None),
                ("federal".into(), Some("gov-portal".into())),
                ("federal".into(), Some("website".into())),
                ("all".into(), None),
            ]
        );
    }

    #[test]
    fn the_buckets_measure_the_response_or_the_claim_and_the_mix_says_how() {
        let lead = |claim: Option<i64>, response: Option<(i64, &str)>| LeadRecord {
            segment: "federal".into(),
            source: "web".into(),
            ms_to_first_touch: claim.map(|m| m * MINUTE),
            ms_to_first_response: response.map(|(m, _)| m * MINUTE),
            response_channel: response.map(|(_, c)| c.to_owned()),
            ..LeadRecord::default()
        };
        let records = [
            // Claimed at 2 min, answered by a reply at 50.
            lead(Some(2), Some((50, "email"))),
            // A call from the CRM at 3 (the call also touched it first).
            lead(Some(3), Some((3, "call"))),
            // Claimed at 4, never answered.
            lead(Some(4), None),
        ];
        let by_claim = Report::build(&records, 3 * DAY, Measure::Claim).total;
        assert_eq!(by_claim.answered_within_5_min, 1.0);
        let by_response = Report::build(&records, 3 * DAY, Measure::Response).total;
        assert!((by_response.answered_within_5_min - 1.0 / 3.0).abs() < 1e-9);
        assert!((by_response.answered_within_1_hour - 2.0 / 3.0).abs() < 1e-9);
        assert!((by_response.never_answered - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(by_response.p50_ms_to_first_response, Some(3 * MINUTE));
        assert_eq!(by_response.p50_ms_to_first_touch, Some(3 * MINUTE));
        assert_eq!(
            (
                by_response.responded_by_reply,
                by_response.responded_by_crm,
                by_response.claim_only
            ),
            (1, 1, 1)
        );
    }

    #[test]
    fn an_empty_table_makes_an_empty_report() {
        let report = Report::build(&[], 0, Measure::Response);
        assert_eq!(report.total.leads, 0);
        assert_eq!(report.total.answered_within_5_min, 0.0);
        assert_eq!(report.total.p50_ms_to_first_touch, None);
    }

    #[test]
    fn durations_read_like_people_say_them() {
        assert_eq!(human_duration(42_000), "42 s");
        assert_eq!(human_duration(185_000), "3m 05s");
        assert_eq!(human_duration(2 * HOUR + 10 * MINUTE), "2h 10m");
        assert_eq!(human_duration(3 * DAY + 4 * HOUR), "3d 4h");
    }
}
