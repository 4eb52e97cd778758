//! Fitting a lead's item within DynamoDB's 400 KB: every value a sender gave
//! bounded, the whole item measured as DynamoDB counts it, and what a rep
//! needs least cut first, each cut named in `truncated`.

use super::*;

impl LeadItem {
    /// The item's size as DynamoDB counts it.
    pub fn size(&self) -> Result<usize, size::Unmeasurable> {
        size::item_size(self)
    }

    /// Bounds every value a sender gave, then measures the item as DynamoDB
    /// does and, while it is over `budget`, cuts what a rep needs least
    /// first ([`CUT_ORDER`]); the email and phone are never cut. Each
    /// attribute cut is named in `truncated`. The intake has already cut
    /// each value to its bound, so the measuring pass only cuts when the
    /// config's own strings (recipients, rule names) are huge, or when a
    /// lead was built elsewhere.
    pub fn fit_within(&mut self, budget: usize) {
        use firsthour::text::truncate_utf8;
        use limits::{
            MAX_CLIENT_IP_BYTES, MAX_DELIVERY_ID_BYTES, MAX_FIELD_NAME_BYTES, MAX_FILE_NAME_BYTES,
            MAX_IGNORED_FILES, MAX_MESSAGE_BYTES, MAX_PHONE_BYTES, MAX_SHORT_TEXT_BYTES,
        };
        let mut cut: Vec<&'static str> = Vec::new();
        for (attribute, value, max) in [
            ("first_name", &mut self.first_name, MAX_SHORT_TEXT_BYTES),
            ("last_name", &mut self.last_name, MAX_SHORT_TEXT_BYTES),
            ("full_name", &mut self.full_name, MAX_SHORT_TEXT_BYTES),
            ("company", &mut self.company, MAX_SHORT_TEXT_BYTES),
            ("phone", &mut self.phone, MAX_PHONE_BYTES),
            ("job_title", &mut self.job_title, MAX_SHORT_TEXT_BYTES),
            ("message", &mut self.message, MAX_MESSAGE_BYTES),
            ("page_url", &mut self.page_url, MAX_SHORT_TEXT_BYTES),
            ("referrer", &mut self.referrer, MAX_SHORT_TEXT_BYTES),
            ("utm_source", &mut self.utm_source, MAX_SHORT_TEXT_BYTES),
            ("utm_medium", &mut self.utm_medium, MAX_SHORT_TEXT_BYTES),
            ("utm_campaign", &mut self.utm_campaign, MAX_SHORT_TEXT_BYTES),
            ("utm_term", &mut self.utm_term, MAX_SHORT_TEXT_BYTES),
            ("utm_content", &mut self.utm_content, MAX_SHORT_TEXT_BYTES),
            ("client_ip", &mut self.client_ip, MAX_CLIENT_IP_BYTES),
            ("user_agent", &mut self.user_agent, MAX_SHORT_TEXT_BYTES),
            // The dedupe key hashes the whole id; only the stored copy is cut.
            ("delivery_id", &mut self.delivery_id, MAX_DELIVERY_ID_BYTES),
            ("agency", &mut self.agency, MAX_SHORT_TEXT_BYTES),
            ("domain_type", &mut self.domain_type, MAX_SHORT_TEXT_BYTES),
        ] {
            if value.as_mut().is_some_and(|v| truncate_utf8(v, max)) {
                cut.push(attribute);
            }
        }
        if let Evidence::Field { field, value } = &mut self.sector_evidence {
            let field_cut = truncate_utf8(field, MAX_FIELD_NAME_BYTES);
            if truncate_utf8(value, MAX_SHORT_TEXT_BYTES) || field_cut {
                cut.push("sector_evidence");
            }
        }
        let files = self.ignored_files.len();
        self.ignored_files.truncate(MAX_IGNORED_FILES);
        let mut files_cut = files > MAX_IGNORED_FILES;
        for name in &mut self.ignored_files {
            files_cut |= truncate_utf8(name, MAX_FILE_NAME_BYTES);
        }
        if files_cut {
            cut.push("ignored_files");
        }
        for attribute in cut {
            note_truncated(&mut self.truncated, attribute);
        }

        // Unmeasurable: the store reports it when it writes.
        let mut size = self.size().ok();
        for attribute in CUT_ORDER {
            // A little more than the excess: naming the cut costs bytes too.
            let excess = match size {
                Some(size) if size > budget => size - budget + 64,
                _ => break,
            };
            let cut = match attribute {
                "fields" => self.cut_raw_fields(excess),
                "ignored_files" => !std::mem::take(&mut self.ignored_files).is_empty(),
                text => self
                    .text_mut(text)
                    .is_some_and(|value| shorten(value, excess)),
            };
            if cut {
                note_truncated(&mut self.truncated, attribute);
            }
            size = self.size().ok();
        }
        self.fields_truncated |= !self.truncated.is_empty();
        if let Some(size) = size
            && size > budget
        {
            tracing::warn!(lead_id = %self.lead_id, size, budget, "lead item over its budget with every sender value cut: the routing config's strings are too long");
        }
    }

    /// The single-line texts [`CUT_ORDER`] may cut, by attribute name.
    fn text_mut(&mut self, attribute: &str) -> Option<&mut Option<String>> {
        Some(match attribute {
            "user_agent" => &mut self.user_agent,
            "referrer" => &mut self.referrer,
            "page_url" => &mut self.page_url,
            "utm_content" => &mut self.utm_content,
            "utm_term" => &mut self.utm_term,
            "utm_campaign" => &mut self.utm_campaign,
            "utm_medium" => &mut self.utm_medium,
            "utm_source" => &mut self.utm_source,
            "message" => &mut self.message,
            "job_title" => &mut self.job_title,
            "company" => &mut self.company,
            "full_name" => &mut self.full_name,
            "last_name" => &mut self.last_name,
            "first_name" => &mut self.first_name,
            _ => return None,
        })
    }

    /// Cuts `excess` bytes from the raw fields: values from the last field
    /// back, then whole fields from the end. Whether anything was cut.
    fn cut_raw_fields(&mut self, mut excess: usize) -> bool {
        let mut cut = false;
        for field in self.fields.iter_mut().rev() {
            if excess == 0 {
                break;
            }
            let before = field.value.len();
            if firsthour::text::truncate_utf8(&mut field.value, before.saturating_sub(excess)) {
                cut = true;
                excess = excess.saturating_sub(before - field.value.len());
            }
        }
        while excess > 0 {
            let Some(field) = self.fields.pop() else {
                break;
            };
            cut = true;
            // Its size in the list: the value and one byte of overhead.
            let size = size::value_size(&field).map_or(0, |size| size + 1);
            excess = excess.saturating_sub(size);
        }
        cut
    }
}

/// What `LeadItem::fit_within` cuts first when an item is over its budget:
/// the raw copy of the answers, the file names, attribution, the message,
/// then names; never the email or phone, which reach the person.
pub const CUT_ORDER: [&str; 16] = [
    "fields",
    "ignored_files",
    "user_agent",
    "referrer",
    "page_url",
    "utm_content",
    "utm_term",
    "utm_campaign",
    "utm_medium",
    "utm_source",
    "message",
    "job_title",
    "company",
    "full_name",
    "last_name",
    "first_name",
];

/// Cuts `by` bytes off the end of `value`; an emptied value becomes absent.
fn shorten(value: &mut Option<String>, by: usize) -> bool {
    let Some(text) = value.as_mut() else {
        return false;
    };
    let cut = firsthour::text::truncate_utf8(text, text.len().saturating_sub(by));
    if text.is_empty() {
        *value = None;
    }
    cut
}
