//! The reference for the domain's item-size count: the size of the item
//! `serde_dynamo` builds, attribute by attribute, as DynamoDB documents it.
//! The store writes exactly that item, so the domain's allocation-free count
//! (`crate::table::size::item_size`) is held to it here.

use serde::Serialize;
use serde_dynamo::AttributeValue;

/// The size of the item `serde_dynamo` builds from `value`.
pub fn built_item_size<T: Serialize>(value: &T) -> Result<usize, serde_dynamo::Error> {
    let item: serde_dynamo::Item = serde_dynamo::to_item(value)?;
    Ok(item
        .iter()
        .map(|(name, value)| name.len() + attribute_size(value))
        .sum())
}

/// The size DynamoDB counts for one attribute value (without its name).
pub fn attribute_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(text) => text.len(),
        AttributeValue::N(number) => number_size(number),
        AttributeValue::B(bytes) => bytes.len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::L(items) => 3 + items.iter().map(|v| 1 + attribute_size(v)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(key, v)| 1 + key.len() + attribute_size(v))
                .sum::<usize>()
        }
        // Sets: their elements (one byte more each, to stay on the safe side).
        AttributeValue::Ss(texts) => texts.iter().map(|t| 1 + t.len()).sum(),
        AttributeValue::Ns(numbers) => numbers.iter().map(|n| 1 + number_size(n)).sum(),
        AttributeValue::Bs(blobs) => blobs.iter().map(|b| 1 + b.len()).sum(),
    }
}

/// One byte per two digits, plus one; every character counted as a digit
/// (DynamoDB trims leading and trailing zeros, so this is an upper bound).
fn number_size(number: &str) -> usize {
    number.len().div_ceil(2) + 1
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde::Serialize;

    use crate::table::LeadItem;
    use crate::table::size::item_size;
    use firsthour::record::LeadRecord;

    use super::*;

    #[derive(Debug, Clone, Serialize)]
    enum Shape {
        Unit,
        Newtype(String),
        Tuple(u8, String),
        Struct { a: Option<i64>, b: Vec<bool> },
    }

    #[derive(Debug, Clone, Serialize)]
    #[serde(tag = "basis")]
    enum Tagged {
        Plain,
        Named { field: String },
    }

    #[derive(Debug, Clone, Serialize)]
    struct Item {
        text: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        maybe: Option<String>,
        nothing: Option<u32>,
        big: u64,
        negative: i64,
        float: f64,
        flag: bool,
        list: Vec<String>,
        nested: Vec<Vec<u16>>,
        map: BTreeMap<String, i32>,
        shapes: Vec<Shape>,
        tagged: Tagged,
        letter: char,
        unit: (),
    }

    fn shape() -> impl Strategy<Value = Shape> {
        prop_oneof![
            Just(Shape::Unit),
            ".*".prop_map(Shape::Newtype),
            (any::<u8>(), ".*").prop_map(|(n, s)| Shape::Tuple(n, s)),
            (
                any::<Option<i64>>(),
                prop::collection::vec(any::<bool>(), 0..4)
            )
                .prop_map(|(a, b)| Shape::Struct { a, b }),
        ]
    }

    fn item() -> impl Strategy<Value = Item> {
        (
            (
                ".*",
                any::<Option<String>>(),
                any::<Option<u32>>(),
                any::<u64>(),
            ),
            (
                any::<i64>(),
                any::<f64>().prop_filter("finite", |f| f.is_finite()),
                any::<bool>(),
            ),
            (
                prop::collection::vec(".*", 0..6),
                prop::collection::vec(prop::collection::vec(any::<u16>(), 0..4), 0..4),
                prop::collection::btree_map(".*", any::<i32>(), 0..5),
            ),
            (
                prop::collection::vec(shape(), 0..5),
                any::<Option<String>>(),
                any::<char>(),
            ),
        )
            .prop_map(
                |(
                    (text, maybe, nothing, big),
                    (negative, float, flag),
                    (list, nested, map),
                    (shapes, field, letter),
                )| Item {
                    text,
                    maybe,
                    nothing,
                    big,
                    negative,
                    float,
                    flag,
                    list,
                    nested,
                    map,
                    shapes,
                    tagged: field.map_or(Tagged::Plain, |field| Tagged::Named { field }),
                    letter,
                    unit: (),
                },
            )
    }

    proptest! {
        /// The count is exactly what the reference measures on the item
        /// serde_dynamo builds.
        #[test]
        fn counts_what_serde_dynamo_builds(item in item()) {
            let reference = built_item_size(&item).expect("measurable");
            prop_assert_eq!(item_size(&item).expect("counted"), reference);
        }
    }

    /// A lead's item as the intake builds it from a form body.
    fn lead_item(body: &str) -> LeadItem {
        let source = firsthour::lead::Source::parse("web").expect("source");
        let meta = firsthour::lead::RequestMeta::default();
        let file = firsthour::config::FileConfig::default();
        let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let context = firsthour::intake::IntakeContext {
            source: &source,
            meta: &meta,
            mapping: None,
            max_body_bytes: usize::MAX,
            received_at: now,
        };
        let lead = firsthour::intake::normalise(
            body.as_bytes(),
            Some("application/x-www-form-urlencoded"),
            context,
        )
        .expect("a lead")
        .lead;
        let (sector, route) = firsthour::service::intake::classify(&lead, &file);
        LeadItem::stored(LeadRecord::new_received(
            &lead, &sector, &route, now, now, None,
        ))
    }

    proptest! {
        /// Leads as the intake builds them: counted as stored.
        #[test]
        fn a_lead_item_counts_as_its_stored_item(
            fields in prop::collection::vec(("[a-z_]{1,12}", "[ -~é€𝄞\u{202e}]{0,300}"), 0..40),
        ) {
            let mut body = String::from("email=jane%40example.com");
            for (name, value) in &fields {
                body.push('&');
                body.push_str(name);
                body.push('=');
                body.extend(url_encoded(value));
            }
            let item = lead_item(&body);
            prop_assert_eq!(item.size().expect("counted"), built_item_size(&item).expect("built"));
        }
    }

    fn url_encoded(text: &str) -> impl Iterator<Item = char> + '_ {
        text.bytes().flat_map(|b| {
            let hex = format!("%{b:02X}");
            hex.chars().collect::<Vec<_>>()
        })
    }

    #[test]
    fn old_items_without_truncated_still_read() {
        let item = lead_item("email=jane%40example.com&message=hi");
        let mut stored: serde_dynamo::Item = serde_dynamo::to_item(&item).expect("item");
        stored.remove("truncated");
        stored.insert("fields_truncated".into(), AttributeValue::Bool(true));
        let read: LeadItem = serde_dynamo::from_item(stored).expect("readable");
        assert!(read.fields_truncated);
        assert!(read.truncated.is_empty());
    }
}
