//! Size bounds on what one submission may store: the one place that knows
//! DynamoDB's item limit and counts an item the way DynamoDB does.
//!
//! The request body is capped first (413 above it). Decoding can make text
//! larger than the body (a windows-1252 byte 0x80 becomes the 3 bytes of
//! `€`), so every bound here is on decoded UTF-8 bytes. The intake cuts each
//! value to its bound as it builds the lead, and the store adapter
//! (`firsthour-aws`'s `table` module) cuts again and measures the whole
//! item as DynamoDB counts it before anything is written: a lead that names
//! a way to reach the person is always stored, and what was cut is listed
//! on it (`truncated`).

/// DynamoDB's item limit: 400 KB, counted as UTF-8 bytes of attribute names
/// plus values. AWS's KB is 1,024 bytes here (an item
/// of 409,600 bytes is accepted); the headroom below dwarfs the difference.
pub const DYNAMODB_ITEM_LIMIT: usize = 400 * 1024;

/// Escalation stamps the headroom below has room for: far above any real
/// ladder (each tier is another email to a person).
pub const MAX_ESCALATION_STAMPS: usize = 256;

/// Most tiers of one ladder that may reassign, so a lead's reassignment
/// history (two addresses a move) stays within the later writes' headroom.
pub const MAX_REASSIGN_TIERS: usize = 5;

/// Room kept for what later writes add to a lead item: the router's stamps
/// and owner, the notification stamps and a 500-character error, the
/// claim, touch and first-response stamps, one `escalations` entry per
/// fired tier (64 bytes each at most), the reassignment history, and a
/// post in every chat channel.
/// `table::tests` measures the worst case of all of them together against this.
pub const LATER_WRITES_HEADROOM: usize = 28 * 1024;

/// What the intake may write: the item limit less the later writes' room.
pub const LEAD_ITEM_BUDGET: usize = DYNAMODB_ITEM_LIMIT - LATER_WRITES_HEADROOM;

/// EventBridge's limit on one `PutEvents` entry (source, detail type, detail
/// and time counted as UTF-8 bytes).
pub const EVENTBRIDGE_ENTRY_LIMIT: usize = 256 * 1024;

/// Default cap on a request body, in bytes (documented in the README).
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;

/// Most raw fields kept from one submission.
pub const MAX_FIELDS: usize = 200;

/// Longest field name (or vendor label) kept, in bytes.
pub const MAX_FIELD_NAME_BYTES: usize = 200;

/// Longest raw field value kept, in bytes.
pub const MAX_FIELD_VALUE_BYTES: usize = 16 * 1024;

/// Total bytes of raw field names and values kept.
pub const MAX_RAW_TOTAL_BYTES: usize = 128 * 1024;

/// Longest free-text message kept on the lead.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// Longest short text (name, company, title, URL, UTM value, user agent) kept.
pub const MAX_SHORT_TEXT_BYTES: usize = 1024;

/// Longest number part of a phone (20 digits and their punctuation).
pub const MAX_PHONE_NUMBER_BYTES: usize = 48;

/// Most digits of a phone extension.
pub const MAX_PHONE_EXTENSION_DIGITS: usize = 10;

/// Longest phone kept: the number, ` ext. ` and the extension.
pub const MAX_PHONE_BYTES: usize =
    MAX_PHONE_NUMBER_BYTES + " ext. ".len() + MAX_PHONE_EXTENSION_DIGITS;

/// Most names of ignored file parts kept.
pub const MAX_IGNORED_FILES: usize = 20;

/// Longest file name kept (what file systems allow).
pub const MAX_FILE_NAME_BYTES: usize = 255;

/// Longest sender delivery id kept on the item (the dedupe key hashes the
/// whole id, so cutting the stored copy changes nothing).
pub const MAX_DELIVERY_ID_BYTES: usize = 256;

/// Longest client address kept (an IPv6 address with a zone fits).
pub const MAX_CLIENT_IP_BYTES: usize = 64;

/// The most every value the intake bounds can add to an item, overheads
/// included: a compile-time proof that bounded input always fits, with
/// the rest of the budget left for the fixed attributes and the routing
/// decision (which comes from the config, not from senders).
pub const MAX_BOUNDED_INPUT_BYTES: usize = {
    // One raw field: a map of name, value and label (3 + per entry 1 + key).
    let per_field = 3
        + (1 + "name".len())
        + (1 + "value".len())
        + (1 + "label".len())
        + MAX_FIELD_NAME_BYTES
        + 1;
    let fields = "fields".len() + 3 + MAX_RAW_TOTAL_BYTES + MAX_FIELDS * per_field;
    // Names, company, title, page, referrer, five UTM values, user agent,
    // the org type value and field name in the sector evidence, the agency.
    let short = 16 * (24 + MAX_SHORT_TEXT_BYTES);
    let files = "ignored_files".len() + 3 + MAX_IGNORED_FILES * (1 + MAX_FILE_NAME_BYTES);
    let email = 2 * (24 + 254);
    let rest = 24 + MAX_PHONE_BYTES + 24 + MAX_DELIVERY_ID_BYTES + 24 + MAX_CLIENT_IP_BYTES;
    // Every attribute named in `truncated`.
    let truncated = "truncated".len() + 3 + 40 * 24;
    fields + (9 + MAX_MESSAGE_BYTES) + short + files + email + rest + truncated
};

const _: () = assert!(MAX_BOUNDED_INPUT_BYTES + 64 * 1024 <= LEAD_ITEM_BUDGET);
