//! Size bounds on what one submission may store.
//!
//! A DynamoDB item holds at most 400 KB. The request body is capped first
//! (413 above it); then each text is cut to a bound so that the normalised
//! fields plus the raw fields always fit in one item, however the body is
//! shaped. Anything cut is flagged on the lead (`fields_truncated`).

/// Default cap on a request body, in bytes (documented in the README).
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;

/// Most raw fields kept from one submission.
pub const MAX_FIELDS: usize = 200;

/// Longest field name kept, in bytes.
pub const MAX_FIELD_NAME_BYTES: usize = 200;

/// Longest raw field value kept, in bytes.
pub const MAX_FIELD_VALUE_BYTES: usize = 16 * 1024;

/// Total bytes of raw field names and values kept.
pub const MAX_RAW_TOTAL_BYTES: usize = 128 * 1024;

/// Longest free-text message kept on the lead.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// Longest short text (name, company, phone, title, URL, UTM value) kept.
pub const MAX_SHORT_TEXT_BYTES: usize = 1024;

/// Cuts `text` to at most `max` bytes on a character boundary.
/// Returns whether anything was cut.
pub fn truncate_utf8(text: &mut String, max: usize) -> bool {
    if text.len() <= max {
        return false;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_on_char_boundary() {
        let mut text = "aé".repeat(3); // 'é' is two bytes
        assert!(truncate_utf8(&mut text, 4));
        assert_eq!(text, "aéa");
        let mut short = String::from("ok");
        assert!(!truncate_utf8(&mut short, 10));
    }
}
