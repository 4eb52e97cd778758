//! The get.gov snapshot compiled into the binary (`data/dotgov.csv`, turned
//! into static tables by `build.rs`): nothing is read or built at cold start.
//!
//! Domains are one sorted text with end offsets (binary search); each row
//! points at an interned organisation and domain type. Offsets rather than
//! `&'static str` keep the tables free of load-time relocations, so only
//! the pages a lookup touches are ever read.

include!(concat!(env!("OUT_DIR"), "/dotgov.rs"));

/// Distinct domains in the snapshot.
pub(super) const LEN: usize = DOMAIN_ENDS.len();

/// The text between two end offsets (`None` for a broken table, never expected).
fn slice(text: &'static str, ends: &[u32], index: usize) -> Option<&'static str> {
    let start = match index.checked_sub(1) {
        Some(previous) => *ends.get(previous)? as usize,
        None => 0,
    };
    let end = *ends.get(index)? as usize;
    text.get(start..end)
}

fn domain(index: usize) -> Option<&'static str> {
    slice(DOMAINS, &DOMAIN_ENDS, index)
}

/// Row `index`: (domain, domain type, organisation).
fn row(index: usize) -> Option<(&'static str, &'static str, &'static str)> {
    let domain_type = TYPES.get(usize::from(*ROW_TYPE.get(index)?))?;
    let organization = slice(
        ORGANIZATIONS,
        &ORGANIZATION_ENDS,
        usize::from(*ROW_ORGANIZATION.get(index)?),
    )?;
    Some((domain(index)?, domain_type, organization))
}

/// The registered domain's row: (domain, domain type, organisation).
pub(super) fn lookup(registered: &str) -> Option<(&'static str, &'static str, &'static str)> {
    let (mut low, mut high) = (0, LEN);
    while low < high {
        let middle = low + (high - low) / 2;
        let candidate = domain(middle)?;
        match candidate.cmp(registered) {
            std::cmp::Ordering::Less => low = middle + 1,
            std::cmp::Ordering::Greater => high = middle,
            std::cmp::Ordering::Equal => return row(middle),
        }
    }
    None
}

/// Every row of the snapshot, in domain order.
pub(super) fn rows() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    (0..LEN).filter_map(row)
}

/// Every domain of the snapshot, in order (for the tests that hold the
/// table to the parser).
#[cfg(test)]
pub(super) fn domains() -> impl Iterator<Item = &'static str> {
    (0..LEN).filter_map(domain)
}
