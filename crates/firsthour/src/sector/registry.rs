//! The get.gov registry of .gov domains: the snapshot built into the binary
//! ([`built_in`], static tables, nothing done at cold start); a refreshed
//! copy, kept as its changes to that snapshot (a few hundred rows, so a cold
//! start reads and indexes almost nothing); or a file read once at cold
//! start into one text arena, interned domain types, and a pre-sized hash
//! table of row indices (the zero-copy splitter is [`super::csv_split`]).

use std::fmt;
use std::hash::BuildHasher;

use super::{Sector, csv_split, registered_gov_domain};

mod built_in;
#[cfg(test)]
mod tests;

/// Far above get.gov's full file (1.5 MB), and below where spans overflow.
pub const MAX_REGISTRY_BYTES: usize = 256 << 20;

/// One row of the .gov registry, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GovDomain<'a> {
    pub domain_type: &'a str,
    pub organization: &'a str,
    sector: Sector,
}

impl GovDomain<'_> {
    pub fn sector(&self) -> Sector {
        self.sector
    }
}

/// The official .gov registry (get.gov `current-full.csv`): the dated
/// snapshot built in ([`GovRegistry::built_in`]), or a file given at start.
#[derive(Debug, Clone)]
pub struct GovRegistry {
    rows: Rows,
    copy: RegistryCopy,
}

#[derive(Debug, Clone)]
enum Rows {
    BuiltIn,
    Loaded(Box<LoadedRows>),
    Refreshed(Box<Changes>),
}

/// A refreshed copy as its differences from the built-in snapshot.
#[derive(Debug, Clone, Default)]
struct Changes {
    /// Rows the copy adds, or lists with another type or organisation.
    changed: Option<LoadedRows>,
    /// Snapshot domains the copy no longer lists.
    removed: std::collections::HashSet<String, rustc_hash::FxBuildHasher>,
    /// Distinct domains of the copy.
    len: usize,
}

/// Which copy of the registry answers lookups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryCopy {
    /// The get.gov snapshot compiled in (`crates/firsthour/data/dotgov.csv`).
    BuiltIn,
    /// A file read at cold start (`FIRSTHOUR_GOV_DOMAINS_FILE` or
    /// `[government] registry_file`); get.gov files carry no date, so its
    /// date is the file's modification day (UTC), when known.
    File {
        path: String,
        modified: Option<jiff::civil::Date>,
    },
    /// A copy the scheduled refresh (or `firsthour registry update`)
    /// downloaded, checked and stored; `fetched` is the day it was
    /// downloaded (UTC), `source` where from.
    Refreshed {
        fetched: jiff::civil::Date,
        source: String,
    },
    /// CSV handed to [`GovRegistry::from_csv`] in memory (tests, benchmarks).
    Given,
}

impl RegistryCopy {
    /// The label logs and tools show: `built-in`, `file` or `given`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::BuiltIn => "built-in",
            Self::File { .. } => "file",
            Self::Refreshed { .. } => "refreshed",
            Self::Given => "given",
        }
    }
}

impl fmt::Display for RegistryCopy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BuiltIn => write!(
                f,
                "the built-in get.gov snapshot of {}",
                built_in::SNAPSHOT_DATE
            ),
            Self::File {
                path,
                modified: Some(day),
            } => write!(f, "the file {path} (modified {day})"),
            Self::File {
                path,
                modified: None,
            } => write!(f, "the file {path}"),
            Self::Refreshed { fetched, source } => {
                write!(f, "the copy refreshed on {fetched} from {source}")
            }
            Self::Given => f.write_str("a registry given in memory"),
        }
    }
}

/// A registry read from CSV, loaded at cold start (16,500 rows, 1.4 MB for
/// get.gov's full file), so loading copies almost nothing: the file stays as
/// one string, each row is a pair of spans into it (or into `changed`, for
/// the few fields reading had to change), the dozen distinct domain types
/// are kept once each, and a hash table of row indices is keyed by domain.
#[derive(Debug, Clone, Default)]
struct LoadedRows {
    text: String,
    /// Fields that are not a slice of `text`: unescaped or lower-cased.
    changed: String,
    entries: Vec<RegistryEntry>,
    /// Row indices by domain; one per domain (the last row wins).
    index: hashbrown::HashTable<u32>,
    /// The distinct domain types and the sector each implies.
    types: Vec<(String, Sector)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RegistryEntry {
    domain: Span,
    organization: Span,
    domain_type: u32,
}

/// A byte range of [`LoadedRows::text`], or of `changed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
    changed: bool,
}

/// Why a registry file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("the .gov registry has no {0:?} column (expected the get.gov current-full.csv format)")]
    MissingColumn(&'static str),
    #[error("the .gov registry lists no domains")]
    Empty,
    #[error("the .gov registry is larger than 256 MiB (get.gov's full file is about 1.5 MB)")]
    TooLarge,
}

impl GovRegistry {
    /// The get.gov snapshot compiled into the binary: nothing to read or
    /// build, so it is what answers when no file is given.
    pub fn built_in() -> Self {
        Self {
            rows: Rows::BuiltIn,
            copy: RegistryCopy::BuiltIn,
        }
    }

    /// Which copy answers: built in, a file, or given in memory.
    pub fn copy(&self) -> &RegistryCopy {
        &self.copy
    }

    /// The day the copy is of: the snapshot's date, a refresh's download
    /// day, or a file's modification day (`None` when unknown or given in
    /// memory).
    pub fn dated(&self) -> Option<jiff::civil::Date> {
        match &self.copy {
            RegistryCopy::BuiltIn => Some(built_in::SNAPSHOT_DATE),
            RegistryCopy::File { modified, .. } => *modified,
            RegistryCopy::Refreshed { fetched, .. } => Some(*fetched),
            RegistryCopy::Given => None,
        }
    }

    /// The date of the snapshot built into this binary.
    pub fn built_in_date() -> jiff::civil::Date {
        built_in::SNAPSHOT_DATE
    }

    /// The built-in snapshot with a refreshed copy's changes: `changed` is
    /// CSV (get.gov's columns) of the rows it adds or changes, `removed` the
    /// snapshot domains it no longer lists.
    pub fn with_changes<'r>(
        changed: &str,
        removed: impl IntoIterator<Item = &'r str>,
        copy: RegistryCopy,
    ) -> Result<Self, RegistryError> {
        let changed = match Self::from_csv(changed) {
            Ok(registry) => match registry.rows {
                Rows::Loaded(rows) => Some(*rows),
                _ => None,
            },
            Err(RegistryError::Empty) => None,
            Err(err) => return Err(err),
        };
        let removed: std::collections::HashSet<_, _> = removed
            .into_iter()
            .map(|domain| domain.trim().to_ascii_lowercase())
            // A row the copy lists is never removed.
            .filter(|domain| {
                built_in::lookup(domain).is_some()
                    && changed
                        .as_ref()
                        .is_none_or(|rows| rows.lookup(domain).is_none())
            })
            .collect();
        let added = changed.as_ref().map_or(0, |rows| {
            rows.rows()
                .filter(|(domain, _)| built_in::lookup(domain).is_none())
                .count()
        });
        let len = (built_in::LEN - removed.len()).saturating_add(added);
        Ok(Self {
            rows: Rows::Refreshed(Box::new(Changes {
                changed,
                removed,
                len,
            })),
            copy,
        })
    }

    /// Every row (each domain once), for comparing copies.
    pub fn rows(&self) -> Box<dyn Iterator<Item = (&str, GovDomain<'_>)> + '_> {
        fn borrowed<'a>(row: (&'static str, GovDomain<'static>)) -> (&'a str, GovDomain<'a>) {
            row
        }
        match &self.rows {
            Rows::BuiltIn => Box::new(built_in::rows().map(built_in_row).map(borrowed)),
            Rows::Loaded(rows) => Box::new(rows.rows()),
            Rows::Refreshed(changes) => {
                let unchanged =
                    built_in::rows()
                        .map(built_in_row)
                        .map(borrowed)
                        .filter(|(domain, _)| {
                            !changes.removed.contains(*domain)
                                && changes
                                    .changed
                                    .as_ref()
                                    .is_none_or(|rows| rows.lookup(domain).is_none())
                        });
                Box::new(unchanged.chain(changes.changed.iter().flat_map(LoadedRows::rows)))
            }
        }
    }

    /// Marks a registry read with [`GovRegistry::from_csv`] as the copy in
    /// the file at `path`, modified at `modified`.
    pub fn read_from(
        mut self,
        path: &std::path::Path,
        modified: Option<std::time::SystemTime>,
    ) -> Self {
        let modified = modified
            .and_then(|at| jiff::Timestamp::try_from(at).ok())
            .map(|at| at.to_zoned(jiff::tz::TimeZone::UTC).date());
        self.copy = RegistryCopy::File {
            path: path.display().to_string(),
            modified,
        };
        self
    }

    /// Reads the get.gov CSV. Columns are found by header name, so both the
    /// current layout (`Domain name,Domain type,Organization name,…`) and the
    /// older one (`Domain Name,Domain Type,Agency,Organization,…`) work.
    /// Bytes that are not UTF-8 are replaced, not an error.
    pub fn from_csv(bytes: impl Into<Vec<u8>>) -> Result<Self, RegistryError> {
        let bytes = bytes.into();
        if bytes.len() > MAX_REGISTRY_BYTES {
            return Err(RegistryError::TooLarge);
        }
        // One UTF-8 check for the whole file: fields split at ASCII bytes,
        // so every field of valid text is valid text.
        let text = String::from_utf8(bytes)
            .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned());
        let input = text.as_bytes();
        let mut rows = csv_split::Splitter::new(input);
        let mut fields = Vec::with_capacity(8);
        rows.next_record(usize::MAX, &mut fields);
        let headers: Vec<&[u8]> = fields.iter().map(|f| f.bytes(input)).collect();
        let column = |names: &[&str]| {
            headers.iter().position(|h| {
                let h = utf8_lossy(h);
                names.iter().any(|n| h.trim().eq_ignore_ascii_case(n))
            })
        };
        let domain_col = column(&["domain name", "domain"])
            .ok_or(RegistryError::MissingColumn("Domain name"))?;
        let type_col =
            column(&["domain type", "type"]).ok_or(RegistryError::MissingColumn("Domain type"))?;
        let org_col = column(&["organization name", "organization", "organisation name"]);
        let agency_col = column(&["agency"]);
        let keep = [Some(domain_col), Some(type_col), org_col, agency_col]
            .into_iter()
            .flatten()
            .max()
            .map_or(0, |last| last + 1);

        // get.gov rows average 85 bytes: a slight overestimate, so nothing
        // grows (and the table never rehashes) while loading.
        let estimate = input.len() / 64;
        let mut entries = Vec::with_capacity(estimate);
        let mut changed = String::new();
        let mut types: Vec<(String, Sector)> = Vec::new();
        while rows.next_record(keep, &mut fields) {
            let cell = |col: Option<usize>| fields.get(col?).map(Cell::read);
            let Some(domain) = cell(Some(domain_col)) else {
                continue;
            };
            let domain = domain.trimmed(&text, true);
            if !domain
                .text(&text)
                .get(domain.text(&text).len().saturating_sub(4)..)
                .is_some_and(|tld| tld.eq_ignore_ascii_case(".gov"))
            {
                continue;
            }
            let domain = domain.lowercased(&text).into_span(&mut changed)?;
            let named = |col: Option<usize>| {
                cell(col).map(|c| c.trimmed(&text, false)).filter(|c| {
                    let t = c.text(&text);
                    !t.is_empty() && !t.eq_ignore_ascii_case("non-federal agency") && t != "(blank)"
                })
            };
            let organization = match named(org_col).or_else(|| named(agency_col)) {
                Some(name) => name.into_span(&mut changed)?,
                None => domain,
            };
            let domain_type = cell(Some(type_col)).map(|c| c.trimmed(&text, false));
            let domain_type = intern_type(
                &mut types,
                domain_type.as_ref().map_or("", |c| c.text(&text)),
            )?;
            entries.push(RegistryEntry {
                domain,
                organization,
                domain_type,
            });
        }
        if entries.is_empty() {
            return Err(RegistryError::Empty);
        }
        if u32::try_from(entries.len()).is_err() {
            return Err(RegistryError::TooLarge);
        }
        let mut rows = LoadedRows {
            text,
            changed,
            entries,
            index: hashbrown::HashTable::new(),
            types,
        };
        rows.build_index();
        Ok(Self {
            rows: Rows::Loaded(Box::new(rows)),
            copy: RegistryCopy::Given,
        })
    }

    /// Distinct domains.
    pub fn len(&self) -> usize {
        match &self.rows {
            Rows::BuiltIn => built_in::LEN,
            Rows::Loaded(rows) => rows.index.len(),
            Rows::Refreshed(changes) => changes.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The registered domain (`nasa.gov`) for any address domain under it.
    pub fn lookup(&self, domain: &str) -> Option<(&str, GovDomain<'_>)> {
        let registered = registered_gov_domain(domain)?;
        match &self.rows {
            Rows::BuiltIn => built_in::lookup(registered).map(built_in_row),
            Rows::Loaded(rows) => rows.lookup(registered),
            Rows::Refreshed(changes) => {
                if changes.removed.contains(registered) {
                    return None;
                }
                match changes
                    .changed
                    .as_ref()
                    .and_then(|rows| rows.lookup(registered))
                {
                    Some(row) => Some(row),
                    None => built_in::lookup(registered).map(built_in_row),
                }
            }
        }
    }
}

fn built_in_row(
    (domain, domain_type, organization): (&'static str, &'static str, &'static str),
) -> (&'static str, GovDomain<'static>) {
    (
        domain,
        GovDomain {
            domain_type,
            organization,
            sector: sector_of_domain_type(domain_type),
        },
    )
}

impl LoadedRows {
    /// Indexes every row by domain; a later row replaces an earlier one.
    fn build_index(&mut self) {
        let registry = &*self;
        let domain_of = |row: u32| {
            registry
                .entries
                .get(row as usize)
                .map_or("", |e| registry.span_text(e.domain))
        };
        let mut index = hashbrown::HashTable::with_capacity(self.entries.len());
        for row in 0..self.entries.len() as u32 {
            let domain = domain_of(row);
            let hash = domain_hash(domain);
            match index.entry(
                hash,
                |other: &u32| domain_of(*other) == domain,
                |other: &u32| domain_hash(domain_of(*other)),
            ) {
                hashbrown::hash_table::Entry::Occupied(mut earlier) => *earlier.get_mut() = row,
                hashbrown::hash_table::Entry::Vacant(slot) => {
                    slot.insert(row);
                }
            }
        }
        self.index = index;
    }

    fn span_text(&self, span: Span) -> &str {
        let source = if span.changed {
            &self.changed
        } else {
            &self.text
        };
        source
            .get(span.start as usize..span.end as usize)
            .unwrap_or_default()
    }

    fn lookup(&self, registered: &str) -> Option<(&str, GovDomain<'_>)> {
        let row = self.index.find(domain_hash(registered), |row| {
            self.entries
                .get(*row as usize)
                .is_some_and(|e| self.span_text(e.domain) == registered)
        })?;
        self.row(*row)
    }

    /// Every indexed row (the last of a domain's rows).
    fn rows(&self) -> impl Iterator<Item = (&str, GovDomain<'_>)> {
        self.index.iter().filter_map(|row| self.row(*row))
    }

    fn row(&self, row: u32) -> Option<(&str, GovDomain<'_>)> {
        let entry = self.entries.get(row as usize)?;
        let (domain_type, sector) = self.types.get(entry.domain_type as usize)?;
        Some((
            self.span_text(entry.domain),
            GovDomain {
                domain_type,
                organization: self.span_text(entry.organization),
                sector: *sector,
            },
        ))
    }
}

/// Unkeyed and fast: the keys come from the admin's file, never from senders.
fn domain_hash(domain: &str) -> u64 {
    rustc_hash::FxBuildHasher.hash_one(domain)
}

/// One registry field while reading: a range of the file, or changed text.
enum Cell {
    At(std::ops::Range<usize>),
    Changed(String),
}

impl Cell {
    fn read(field: &csv_split::Field) -> Self {
        match field {
            csv_split::Field::At(range) => Cell::At(range.clone()),
            csv_split::Field::Unescaped(bytes) => Cell::Changed(utf8_lossy(bytes).into_owned()),
        }
    }

    fn text<'a>(&'a self, text: &'a str) -> &'a str {
        match self {
            Cell::At(range) => text.get(range.clone()).unwrap_or_default(),
            Cell::Changed(changed) => changed,
        }
    }

    /// Without surrounding white space (and trailing dots, for a domain):
    /// a narrower range of the file, no copy.
    fn trimmed(self, text: &str, trailing_dots: bool) -> Self {
        let whole = self.text(text);
        let skipped = whole.len() - whole.trim_start().len();
        let mut kept = whole.trim();
        if trailing_dots {
            kept = kept.trim_end_matches('.');
        }
        let kept_len = kept.len();
        match self {
            Cell::At(range) => Cell::At(range.start + skipped..range.start + skipped + kept_len),
            Cell::Changed(changed) => Cell::Changed(
                changed
                    .get(skipped..skipped + kept_len)
                    .unwrap_or_default()
                    .to_owned(),
            ),
        }
    }

    /// Lower case; a copy only when there is upper case to change.
    fn lowercased(self, text: &str) -> Self {
        let current = self.text(text);
        if current.bytes().any(|b| b.is_ascii_uppercase()) {
            Cell::Changed(current.to_ascii_lowercase())
        } else {
            self
        }
    }

    fn into_span(self, changed: &mut String) -> Result<Span, RegistryError> {
        let offset = |at: usize| u32::try_from(at).map_err(|_| RegistryError::TooLarge);
        Ok(match self {
            Cell::At(range) => Span {
                start: offset(range.start)?,
                end: offset(range.end)?,
                changed: false,
            },
            Cell::Changed(text) => {
                let start = changed.len();
                changed.push_str(&text);
                Span {
                    start: offset(start)?,
                    end: offset(changed.len())?,
                    changed: true,
                }
            }
        })
    }
}

fn intern_type(types: &mut Vec<(String, Sector)>, domain_type: &str) -> Result<u32, RegistryError> {
    let index = match types.iter().position(|(t, _)| t == domain_type) {
        Some(index) => index,
        None => {
            types.push((domain_type.to_owned(), sector_of_domain_type(domain_type)));
            types.len() - 1
        }
    };
    u32::try_from(index).map_err(|_| RegistryError::TooLarge)
}

/// get.gov's federal types all start "Federal" ("Federal - Executive"…);
/// every other type is a state, local, tribal or interstate body.
fn sector_of_domain_type(domain_type: &str) -> Sector {
    if domain_type
        .get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("federal"))
    {
        Sector::Federal
    } else {
        Sector::StateLocal
    }
}

/// Text of a CSV field; the usual all-valid case takes `from_utf8`'s fast path.
fn utf8_lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}
