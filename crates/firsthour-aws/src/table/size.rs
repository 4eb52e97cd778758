//! The size of a value as a DynamoDB item, counted without building it.
//!
//! Measuring what `serde_dynamo` builds (a map of `AttributeValue`s: an
//! allocation per string) cost more than the whole rest of a lead's intake.
//! This serializer walks the same `Serialize` calls and adds up the sizes
//! instead, with `serde_dynamo`'s mapping (numbers as their decimal text,
//! `None` and unit as NULL, unit variants as their name, newtype variants as
//! a one-entry map). The AWS adapter crate holds it to the built item with
//! a property test; what it cannot count (map keys that are not text, sets)
//! is reported as such.

use std::fmt::{self, Write as _};

use serde::ser::{self, Serialize};

/// Why a value could not be measured as an item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not storable as a DynamoDB item: {0}")]
pub struct Unmeasurable(String);

/// The size of `value` as one DynamoDB item, counted as DynamoDB documents
/// it: attribute names plus values, strings as UTF-8 bytes, numbers one
/// byte per two digits plus one, 3 bytes for a list or map and 1 more per
/// element. Counted on the very `Serialize` calls that make the item the
/// store writes, without building it (held to the item `serde_dynamo` builds by a property test in
/// `crate::item_size`).
pub fn item_size<T: Serialize>(value: &T) -> Result<usize, Unmeasurable> {
    count_item(value).map_err(|_| Unmeasurable("not a map of attributes".into()))
}

/// The size of `value` as one attribute value (without a name).
pub fn value_size<T: Serialize>(value: &T) -> Result<usize, Unmeasurable> {
    count_value(value).map_err(|_| Unmeasurable("not an attribute value".into()))
}

/// Why the fast count gave up (the reference measurement is used then).
#[derive(Debug)]
pub struct NotCounted;

impl fmt::Display for NotCounted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not counted")
    }
}

impl std::error::Error for NotCounted {}

impl ser::Error for NotCounted {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        NotCounted
    }
}

/// Bytes of the item's attributes (names plus values), as DynamoDB counts
/// them, for a value that serializes as a map or struct.
pub fn count_item<T: Serialize + ?Sized>(value: &T) -> Result<usize, NotCounted> {
    let Counted { size, entries } = value.serialize(Counter)?;
    // An item is its top-level map without the map's own overhead.
    let overhead = entries
        .ok_or(NotCounted)?
        .checked_add(3)
        .ok_or(NotCounted)?;
    size.checked_sub(overhead).ok_or(NotCounted)
}

/// Bytes of one attribute value (without a name), as DynamoDB counts them.
pub fn count_value<T: Serialize + ?Sized>(value: &T) -> Result<usize, NotCounted> {
    Ok(value.serialize(Counter)?.size)
}

/// One value's size, and for a map or struct its number of entries.
struct Counted {
    size: usize,
    entries: Option<usize>,
}

impl Counted {
    fn scalar(size: usize) -> Self {
        Self {
            size,
            entries: None,
        }
    }
}

/// Counts the bytes of `Display` output without allocating.
#[derive(Default)]
struct Length(usize);

impl fmt::Write for Length {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// A number as `serde_dynamo` writes it (its `to_string()`): one byte per
/// two characters, plus one (DynamoDB trims zeros: an upper bound).
fn number(value: impl fmt::Display) -> Result<Counted, NotCounted> {
    let mut length = Length::default();
    write!(length, "{value}").map_err(|_| NotCounted)?;
    Ok(Counted::scalar(length.0.div_ceil(2) + 1))
}

fn add(total: usize, more: usize) -> Result<usize, NotCounted> {
    total.checked_add(more).ok_or(NotCounted)
}

struct Counter;

/// A list or map being counted: 3 bytes, then per element 1 byte (plus the
/// key's bytes in a map) and its value.
struct Compound {
    size: usize,
    entries: usize,
    /// For an enum variant: the one-entry map wrapping this (its name's length).
    variant: Option<usize>,
}

impl Compound {
    fn new(variant: Option<&'static str>) -> Self {
        Self {
            size: 3,
            entries: 0,
            variant: variant.map(str::len),
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, key: usize, value: &T) -> Result<(), NotCounted> {
        let value = value.serialize(Counter)?.size;
        self.size = add(self.size, add(add(1, key)?, value)?)?;
        self.entries += 1;
        Ok(())
    }

    fn finish(self) -> Result<Counted, NotCounted> {
        match self.variant {
            // `{variant: value}`: 3 + 1 + name + value.
            Some(name) => Ok(Counted::scalar(add(add(4, name)?, self.size)?)),
            None => Ok(Counted {
                size: self.size,
                entries: Some(self.entries),
            }),
        }
    }
}

impl ser::Serializer for Counter {
    type Ok = Counted;
    type Error = NotCounted;
    type SerializeSeq = Compound;
    type SerializeTuple = Compound;
    type SerializeTupleStruct = Compound;
    type SerializeTupleVariant = Compound;
    type SerializeMap = MapCount;
    type SerializeStruct = Compound;
    type SerializeStructVariant = Compound;

    fn serialize_bool(self, _: bool) -> Result<Counted, NotCounted> {
        Ok(Counted::scalar(1))
    }
    fn serialize_i8(self, v: i8) -> Result<Counted, NotCounted> {
        number(v)
    }
    fn serialize_i16(self, v: i16) -> Result<Counted, NotCounted> {
        number(v)
    }
    fn serialize_i32(self, v: i32) -> Result<Counted, NotCounted> {
        number(v)
    }
    fn serialize_i64(self, v: i64) -> Result<Counted, NotCounted> {
        number(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Counted, NotCounted> {
        number(v)
    }
    fn serialize_u16(self, v: u16) -> Result<Counted, NotCounted> {
        number(v)
    }
    fn serialize_u32(self, v: u32) -> Result<Counted, NotCounted> {
        number(v)
    }
    fn serialize_u64(self, v: u64) -> Result<Counted, NotCounted> {
        number(v)
    }
    fn serialize_f32(self, v: f32) -> Result<Counted, NotCounted> {
        number(v)
    }
    fn serialize_f64(self, v: f64) -> Result<Counted, NotCounted> {
        number(v)
    }
    fn serialize_char(self, v: char) -> Result<Counted, NotCounted> {
        Ok(Counted::scalar(v.len_utf8()))
    }
    fn serialize_str(self, v: &str) -> Result<Counted, NotCounted> {
        Ok(Counted::scalar(v.len()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Counted, NotCounted> {
        Ok(Counted::scalar(v.len()))
    }
    fn serialize_none(self) -> Result<Counted, NotCounted> {
        Ok(Counted::scalar(1))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Counted, NotCounted> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Counted, NotCounted> {
        Ok(Counted::scalar(1))
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Counted, NotCounted> {
        Ok(Counted::scalar(1))
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Counted, NotCounted> {
        Ok(Counted::scalar(variant.len()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<Counted, NotCounted> {
        // serde_dynamo turns specially named newtypes into sets.
        if name.starts_with("_serde_dynamo") {
            return Err(NotCounted);
        }
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Counted, NotCounted> {
        let inner = value.serialize(Counter)?.size;
        Ok(Counted::scalar(add(add(4, variant.len())?, inner)?))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound, NotCounted> {
        Ok(Compound::new(None))
    }
    fn serialize_tuple(self, _: usize) -> Result<Compound, NotCounted> {
        Ok(Compound::new(None))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Compound, NotCounted> {
        Ok(Compound::new(None))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound, NotCounted> {
        Ok(Compound::new(Some(variant)))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapCount, NotCounted> {
        Ok(MapCount {
            inner: Compound::new(None),
            key: None,
        })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound, NotCounted> {
        Ok(Compound::new(None))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound, NotCounted> {
        Ok(Compound::new(Some(variant)))
    }
}

impl ser::SerializeSeq for Compound {
    type Ok = Counted;
    type Error = NotCounted;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NotCounted> {
        self.element(0, value)
    }
    fn end(self) -> Result<Counted, NotCounted> {
        self.finish()
    }
}

impl ser::SerializeTuple for Compound {
    type Ok = Counted;
    type Error = NotCounted;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NotCounted> {
        self.element(0, value)
    }
    fn end(self) -> Result<Counted, NotCounted> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for Compound {
    type Ok = Counted;
    type Error = NotCounted;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NotCounted> {
        self.element(0, value)
    }
    fn end(self) -> Result<Counted, NotCounted> {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for Compound {
    type Ok = Counted;
    type Error = NotCounted;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NotCounted> {
        self.element(0, value)
    }
    fn end(self) -> Result<Counted, NotCounted> {
        self.finish()
    }
}

impl ser::SerializeStruct for Compound {
    type Ok = Counted;
    type Error = NotCounted;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), NotCounted> {
        self.element(key.len(), value)
    }
    fn end(self) -> Result<Counted, NotCounted> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for Compound {
    type Ok = Counted;
    type Error = NotCounted;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), NotCounted> {
        self.element(key.len(), value)
    }
    fn end(self) -> Result<Counted, NotCounted> {
        self.finish()
    }
}

/// A map with text keys (a Rust map has no repeated keys, so every entry
/// is one attribute, as serde_dynamo builds it). Other keys are not counted.
struct MapCount {
    inner: Compound,
    key: Option<usize>,
}

/// The length of a text map key.
struct KeyText;

impl ser::SerializeMap for MapCount {
    type Ok = Counted;
    type Error = NotCounted;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), NotCounted> {
        self.key = Some(key.serialize(KeyText)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NotCounted> {
        let key = self.key.take().ok_or(NotCounted)?;
        self.inner.element(key, value)
    }
    fn end(self) -> Result<Counted, NotCounted> {
        self.inner.finish()
    }
}

impl ser::Serializer for KeyText {
    type Ok = usize;
    type Error = NotCounted;
    type SerializeSeq = ser::Impossible<usize, NotCounted>;
    type SerializeTuple = ser::Impossible<usize, NotCounted>;
    type SerializeTupleStruct = ser::Impossible<usize, NotCounted>;
    type SerializeTupleVariant = ser::Impossible<usize, NotCounted>;
    type SerializeMap = ser::Impossible<usize, NotCounted>;
    type SerializeStruct = ser::Impossible<usize, NotCounted>;
    type SerializeStructVariant = ser::Impossible<usize, NotCounted>;

    fn serialize_str(self, v: &str) -> Result<usize, NotCounted> {
        Ok(v.len())
    }
    fn serialize_bool(self, _: bool) -> Result<usize, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_i8(self, _: i8) -> Result<usize, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_i16(self, _: i16) -> Result<usize, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_i32(self, _: i32) -> Result<usize, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_i64(self, _: i64) -> Result<usize, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_u8(self, _: u8) -> Result<usize, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_u16(self, _: u16) -> Result<usize, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_u32(self, _: u32) -> Result<usize, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_u64(self, _: u64) -> Result<usize, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_f32(self, _: f32) -> Result<usize, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_f64(self, _: f64) -> Result<usize, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_char(self, _: char) -> Result<usize, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<usize, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_none(self) -> Result<usize, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<usize, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_unit(self) -> Result<usize, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<usize, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<usize, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<usize, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<usize, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, NotCounted> {
        Err(NotCounted)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotCounted> {
        Err(NotCounted)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;

    use super::*;

    #[test]
    fn what_it_cannot_count_it_says() {
        #[derive(Serialize)]
        struct WithNumericKeys {
            map: BTreeMap<u8, u8>,
        }
        let map = BTreeMap::from([(1, 2)]);
        assert!(count_item(&WithNumericKeys { map }).is_err());
        assert!(count_item(&"not a map").is_err());
    }

    #[test]
    fn sizes_as_dynamodb_documents() {
        #[derive(Serialize)]
        struct Item {
            name: String,
            n: u32,
            list: Vec<bool>,
        }
        let item = Item {
            name: "abc".into(),
            n: 1234,
            list: vec![true, false],
        };
        // name 4 + 3; n 1 + (2 + 1); list 4 + (3 + 2 × (1 + 1)).
        assert_eq!(count_item(&item).ok(), Some(7 + 4 + 11));
        assert_eq!(count_value(&1234u32).ok(), Some(3));
    }
}

#[cfg(test)]
mod documented_rules {
    use super::*;
    use serde::Serialize;

    #[test]
    fn sizes_follow_dynamodbs_documented_rules() {
        #[derive(Serialize)]
        struct Example {
            name: String,
            count: u32,
            flag: bool,
            tags: Vec<String>,
            nested: std::collections::BTreeMap<String, String>,
        }
        let example = Example {
            name: "€uro".into(),
            count: 12345,
            flag: true,
            tags: vec!["a".into(), "bc".into()],
            nested: [("k".to_owned(), "v".to_owned())].into_iter().collect(),
        };
        let expected = ("name".len() + "€uro".len())
            + ("count".len() + 3 + 1)
            + ("flag".len() + 1)
            + ("tags".len() + 3 + (1 + 1) + (1 + 2))
            + ("nested".len() + 3 + (1 + 1 + 1));
        assert_eq!(item_size(&example), Ok(expected));
        assert!(item_size(&"not a map").is_err());
    }
}
