//! Spam checks for browser forms: a honeypot field bots fill in, a minimum
//! time between the page rendering and the submit, and a per-client-IP rate
//! limit. Caught submissions get the same answer a real one gets (so bots
//! learn nothing), are not stored, and are counted in the logs.

use serde::Deserialize;
use time::OffsetDateTime;

use crate::lead::RawField;

/// `[spam]` in the config file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpamConfig {
    /// Fields a person never sees: any value in one means a bot.
    #[serde(default = "default_honeypots")]
    pub honeypot_fields: Vec<String>,
    /// A field holding when the page rendered (epoch milliseconds, set by the
    /// page's script); a submit sooner than `min_seconds_to_submit` is a bot.
    #[serde(default = "default_rendered_at_field")]
    pub rendered_at_field: String,
    #[serde(default = "default_min_seconds")]
    pub min_seconds_to_submit: u64,
    /// Submissions per client IP per minute, for sources without a signature.
    /// 0 turns the limit off.
    #[serde(default = "default_per_ip")]
    pub per_ip_per_minute: u64,
}

fn default_honeypots() -> Vec<String> {
    vec!["_gotcha".into(), "_honeypot".into(), "hp_website".into()]
}

fn default_rendered_at_field() -> String {
    "_rendered_at".into()
}

fn default_min_seconds() -> u64 {
    3
}

fn default_per_ip() -> u64 {
    30
}

impl Default for SpamConfig {
    fn default() -> Self {
        Self {
            honeypot_fields: default_honeypots(),
            rendered_at_field: default_rendered_at_field(),
            min_seconds_to_submit: default_min_seconds(),
            per_ip_per_minute: default_per_ip(),
        }
    }
}

/// Why a submission was taken for spam.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpamReason {
    Honeypot,
    TooFast,
    RateLimited,
}

impl SpamReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Honeypot => "honeypot",
            Self::TooFast => "too_fast",
            Self::RateLimited => "rate_limited",
        }
    }
}

impl SpamConfig {
    /// The checks on the submitted fields (the rate limit needs the store).
    pub fn check_fields(&self, fields: &[RawField], now: OffsetDateTime) -> Option<SpamReason> {
        let filled = |name: &str| {
            fields
                .iter()
                .any(|f| f.name == name && !f.value.trim().is_empty())
        };
        if self.honeypot_fields.iter().any(|h| filled(h)) {
            return Some(SpamReason::Honeypot);
        }
        if self.min_seconds_to_submit > 0
            && let Some(elapsed_ms) = fields
                .iter()
                .find(|f| f.name == self.rendered_at_field)
                .and_then(|f| elapsed_since_render(&f.value, now))
        {
            let min_ms =
                i64::try_from(self.min_seconds_to_submit.saturating_mul(1000)).unwrap_or(i64::MAX);
            if elapsed_ms < min_ms {
                return Some(SpamReason::TooFast);
            }
        }
        None
    }
}

/// How far ahead of us a page's clock may be and its render time still count.
/// More than this is a skewed clock or a forged value: not evidence of a bot.
const RENDERED_AT_FUTURE_TOLERANCE_MS: i64 = 1000;

/// Milliseconds from the page rendering (`_rendered_at`, epoch ms from the
/// browser's clock) to `now`; `None` when the value cannot be used: not an
/// integer, overflowing, or further in the future than a little clock skew.
/// An unusable value is ignored, so it can never make a lead "too fast".
fn elapsed_since_render(value: &str, now: OffsetDateTime) -> Option<i64> {
    let rendered: i64 = value.trim().parse().ok()?;
    let elapsed = crate::lead::unix_millis(now).checked_sub(rendered)?;
    (elapsed >= -RENDERED_AT_FUTURE_TOLERANCE_MS).then_some(elapsed)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<RawField> {
        pairs.iter().map(|(n, v)| RawField::new(*n, *v)).collect()
    }

    #[test]
    fn honeypots_and_speed() {
        let config = SpamConfig::default();
        let now = datetime!(2026-11-22 14:00:10 UTC);
        let rendered = (crate::lead::unix_millis(now) - 10_000).to_string();
        let fast = (crate::lead::unix_millis(now) - 500).to_string();
        assert_eq!(
            config.check_fields(&fields(&[("email", "a@b.co"), ("_gotcha", "")]), now),
            None
        );
        assert_eq!(
            config.check_fields(&fields(&[("_gotcha", "http://spam")]), now),
            Some(SpamReason::Honeypot)
        );
        assert_eq!(
            config.check_fields(&fields(&[("_rendered_at", &rendered)]), now),
            None
        );
        assert_eq!(
            config.check_fields(&fields(&[("_rendered_at", &fast)]), now),
            Some(SpamReason::TooFast)
        );
        assert_eq!(
            config.check_fields(&fields(&[("_rendered_at", "not a time")]), now),
            None
        );
    }

    #[test]
    fn unusable_render_times_are_ignored_never_too_fast() {
        let config = SpamConfig::default();
        let now = datetime!(2026-11-22 14:00:10 UTC);
        let now_ms = crate::lead::unix_millis(now);
        let far_future = (now_ms + 60_000).to_string();
        let micros = now_ms.saturating_mul(1000).to_string();
        for value in [
            "-9223372036854775808",
            "-9223372036854775807",
            "9223372036854775807",
            "9223372036854775808",
            "18446744073709551615",
            "-99999999999999999999",
            far_future.as_str(),
            micros.as_str(),
            "0",
            "-1",
            "1",
            " -9223372036854775808 ",
        ] {
            assert_eq!(
                config.check_fields(&fields(&[("_rendered_at", value)]), now),
                None,
                "{value}"
            );
        }
        // A clock a little ahead still counts: that is a bot's instant submit.
        let slightly_ahead = (now_ms + 500).to_string();
        assert_eq!(
            config.check_fields(&fields(&[("_rendered_at", &slightly_ahead)]), now),
            Some(SpamReason::TooFast)
        );
        assert_eq!(elapsed_since_render(&slightly_ahead, now), Some(-500));
        assert_eq!(elapsed_since_render("-9223372036854775808", now), None);
        assert_eq!(elapsed_since_render(&i64::MAX.to_string(), now), None);
        assert_eq!(elapsed_since_render(&far_future, now), None);
        assert_eq!(elapsed_since_render("0", now), Some(now_ms));
        // The extremes of `now` too, and of the configured minimum.
        for now in [
            time::OffsetDateTime::UNIX_EPOCH,
            datetime!(-9999-01-01 00:00 UTC),
            datetime!(9999-12-31 23:59:59.999 UTC),
        ] {
            for value in ["-9223372036854775808", "9223372036854775807", "0"] {
                let _ = config.check_fields(&fields(&[("_rendered_at", value)]), now);
            }
        }
        let strict = SpamConfig {
            min_seconds_to_submit: u64::MAX,
            ..SpamConfig::default()
        };
        assert_eq!(
            strict.check_fields(&fields(&[("_rendered_at", "-9223372036854775808")]), now),
            None
        );
        assert_eq!(
            strict.check_fields(&fields(&[("_rendered_at", &now_ms.to_string())]), now),
            Some(SpamReason::TooFast)
        );
    }
}
