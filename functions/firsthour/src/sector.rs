//! Sector detection: is the person's organisation federal, state/local,
//! education or commercial? Computed once at intake, stored with its evidence.
//!
//! Precedence (strongest first):
//! 1. a **verified domain**: `.mil`, `.fed.us`, a `.gov` found in the official
//!    registry, a `.us` locality domain, `.edu`;
//! 2. an **organisation-type form field** ("Federal Government"…);
//! 3. the **source's configured sector** (a dedicated government portal);
//! 4. an **unregistered `.gov`** (or any `.gov` without the registry):
//!    `government_unverified`, never guessed to be federal;
//! 5. otherwise `commercial`.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;

use serde::{Deserialize, Serialize};

/// The kind of organisation a lead comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sector {
    Federal,
    StateLocal,
    Education,
    /// A `.gov` address the registry could not place (or no registry loaded).
    GovernmentUnverified,
    Commercial,
}

impl Sector {
    pub const ALL: [Sector; 5] = [
        Self::Federal,
        Self::StateLocal,
        Self::Education,
        Self::GovernmentUnverified,
        Self::Commercial,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Federal => "federal",
            Self::StateLocal => "state_local",
            Self::Education => "education",
            Self::GovernmentUnverified => "government_unverified",
            Self::Commercial => "commercial",
        }
    }
}

impl fmt::Display for Sector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the sector was decided on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "basis", rename_all = "snake_case")]
pub enum Evidence {
    /// The email domain, with the rule that placed it.
    Domain { domain: String, rule: String },
    /// A form field's value.
    Field { field: String, value: String },
    /// The source is configured as a sector's own portal.
    Source { source: String },
    /// Nothing said otherwise.
    Default,
}

/// The decision and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectorDecision {
    pub sector: Sector,
    pub evidence: Evidence,
    /// The agency or organisation named by the .gov registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
}

/// One row of the .gov registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GovDomain {
    pub domain_type: String,
    pub organization: String,
}

impl GovDomain {
    pub fn sector(&self) -> Sector {
        if self.domain_type.to_ascii_lowercase().starts_with("federal") {
            Sector::Federal
        } else {
            Sector::StateLocal
        }
    }
}

/// The official .gov registry (get.gov `current-full.csv`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GovRegistry {
    domains: HashMap<String, GovDomain>,
}

/// A registry file problem, naming the row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("the .gov registry has no {0:?} column (expected the get.gov current-full.csv format)")]
    MissingColumn(&'static str),
    #[error("the .gov registry is not valid CSV: {0}")]
    Csv(String),
    #[error("the .gov registry lists no domains")]
    Empty,
}

impl GovRegistry {
    /// Reads the get.gov CSV. Columns are found by header name, so both the
    /// current layout (`Domain name,Domain type,Organization name,…`) and the
    /// older one (`Domain Name,Domain Type,Agency,Organization,…`) work.
    pub fn from_csv<R: Read>(reader: R) -> Result<Self, RegistryError> {
        let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
        let headers = csv
            .headers()
            .map_err(|e| RegistryError::Csv(e.to_string()))?
            .clone();
        let column = |names: &[&str]| {
            headers
                .iter()
                .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
        };
        let domain_col = column(&["domain name", "domain"])
            .ok_or(RegistryError::MissingColumn("Domain name"))?;
        let type_col =
            column(&["domain type", "type"]).ok_or(RegistryError::MissingColumn("Domain type"))?;
        let org_col = column(&["organization name", "organization", "organisation name"]);
        let agency_col = column(&["agency"]);
        let mut domains = HashMap::new();
        // One record buffer for every row: this runs at every cold start.
        let mut record = csv::StringRecord::new();
        while csv
            .read_record(&mut record)
            .map_err(|e| RegistryError::Csv(e.to_string()))?
        {
            let Some(domain) = record
                .get(domain_col)
                .map(normalise_domain)
                .filter(|d| d.ends_with(".gov"))
            else {
                continue;
            };
            let text = |col: Option<usize>| {
                col.and_then(|c| record.get(c))
                    .map(str::trim)
                    .filter(|t| {
                        !t.is_empty()
                            && !t.eq_ignore_ascii_case("non-federal agency")
                            && *t != "(blank)"
                    })
                    .map(str::to_owned)
            };
            let organization = text(org_col)
                .or_else(|| text(agency_col))
                .unwrap_or_else(|| domain.clone());
            domains.insert(
                domain,
                GovDomain {
                    domain_type: record.get(type_col).unwrap_or_default().trim().to_owned(),
                    organization,
                },
            );
        }
        if domains.is_empty() {
            return Err(RegistryError::Empty);
        }
        Ok(Self { domains })
    }

    pub fn len(&self) -> usize {
        self.domains.len()
    }

    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }

    /// The registered domain (`nasa.gov`) for any address domain under it.
    pub fn lookup(&self, domain: &str) -> Option<(&str, &GovDomain)> {
        let registered = registered_gov_domain(domain)?;
        self.domains
            .get_key_value(registered)
            .map(|(k, v)| (k.as_str(), v))
    }
}

/// Lower case, no trailing dot, no surrounding spaces.
pub fn normalise_domain(domain: &str) -> String {
    domain.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// `jpl.nasa.gov` → `nasa.gov`; `None` unless the TLD is `.gov`.
fn registered_gov_domain(domain: &str) -> Option<&str> {
    let labels: Vec<&str> = domain.rsplitn(3, '.').collect();
    match labels.as_slice() {
        ["gov", second, ..] if !second.is_empty() => {
            let start = domain.len() - ("gov".len() + 1 + second.len());
            Some(&domain[start..])
        }
        _ => None,
    }
}

/// The two-letter codes of the `.us` locality namespace (states, DC, territories).
const US_STATES: &[&str] = &[
    "al", "ak", "az", "ar", "ca", "co", "ct", "de", "dc", "fl", "ga", "hi", "id", "il", "in", "ia",
    "ks", "ky", "la", "me", "md", "ma", "mi", "mn", "ms", "mo", "mt", "ne", "nv", "nh", "nj", "nm",
    "ny", "nc", "nd", "oh", "ok", "or", "pa", "ri", "sc", "sd", "tn", "tx", "ut", "vt", "va", "wa",
    "wv", "wi", "wy", "as", "gu", "mp", "pr", "vi",
];

/// The sector an email domain alone implies, with the rule used.
pub fn classify_domain(
    domain: &str,
    registry: Option<&GovRegistry>,
) -> (Sector, String, Option<String>) {
    let domain = normalise_domain(domain);
    let labels: Vec<&str> = domain.split('.').collect();
    let tld = labels.last().copied().unwrap_or_default();
    let second = labels
        .len()
        .checked_sub(2)
        .and_then(|i| labels.get(i))
        .copied();
    match tld {
        "mil" if labels.len() >= 2 => (Sector::Federal, ".mil".into(), None),
        "us" if second == Some("fed") && labels.len() >= 3 => {
            (Sector::Federal, ".fed.us".into(), None)
        }
        "us" if labels.len() >= 3 && second.is_some_and(|s| US_STATES.contains(&s)) => {
            (Sector::StateLocal, ".us locality domain".into(), None)
        }
        "edu" if labels.len() >= 2 => (Sector::Education, ".edu".into(), None),
        "gov" if labels.len() >= 2 => match registry.and_then(|r| r.lookup(&domain)) {
            Some((registered, entry)) => (
                entry.sector(),
                format!("{registered} is {} in the .gov registry", entry.domain_type),
                Some(entry.organization.clone()),
            ),
            None if registry.is_some() => (
                Sector::GovernmentUnverified,
                ".gov not in the registry".into(),
                None,
            ),
            None => (
                Sector::GovernmentUnverified,
                ".gov (no registry loaded)".into(),
                None,
            ),
        },
        _ => (
            Sector::Commercial,
            "not a government or education domain".into(),
            None,
        ),
    }
}

/// Reads an organisation-type answer ("Federal Government", "State/Local",
/// "Higher Education", "Private sector"…).
pub fn classify_org_type(value: &str) -> Option<Sector> {
    let lower = value.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let word = |list: &[&str]| words.iter().any(|w| list.contains(w));
    let phrase = |list: &[&str]| list.iter().any(|p| lower.contains(p));
    if word(&["federal", "military", "dod"])
        || phrase(&[
            "united states government",
            "u.s. government",
            "us government",
        ])
    {
        Some(Sector::Federal)
    } else if word(&[
        "state",
        "local",
        "county",
        "city",
        "municipal",
        "municipality",
        "tribal",
        "tribe",
        "slg",
    ]) {
        Some(Sector::StateLocal)
    } else if word(&[
        "education",
        "educational",
        "university",
        "college",
        "school",
        "k12",
        "academic",
        "edu",
    ]) || phrase(&["k-12", "higher ed"])
    {
        Some(Sector::Education)
    } else if word(&["government", "gov", "agency", "public"]) {
        Some(Sector::GovernmentUnverified)
    } else if word(&[
        "commercial",
        "private",
        "business",
        "enterprise",
        "company",
        "nonprofit",
        "corporate",
        "smb",
    ]) || phrase(&["non-profit"])
    {
        Some(Sector::Commercial)
    } else {
        None
    }
}

/// Inputs to [`decide`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SectorInputs<'a> {
    pub email_domain: Option<&'a str>,
    /// The organisation-type field, if the form had one: (name, value).
    pub org_type: Option<(&'a str, &'a str)>,
    /// The source name and the sector its config gives it.
    pub source: Option<(&'a str, Sector)>,
}

/// Combines the evidence in the documented precedence (module docs).
pub fn decide(inputs: SectorInputs<'_>, registry: Option<&GovRegistry>) -> SectorDecision {
    let domain = inputs.email_domain.map(|d| {
        let (sector, rule, agency) = classify_domain(d, registry);
        (normalise_domain(d), sector, rule, agency)
    });
    if let Some((domain, sector, rule, agency)) = &domain
        && !matches!(sector, Sector::Commercial | Sector::GovernmentUnverified)
    {
        return SectorDecision {
            sector: *sector,
            evidence: Evidence::Domain {
                domain: domain.clone(),
                rule: rule.clone(),
            },
            agency: agency.clone(),
        };
    }
    if let Some((field, value)) = inputs.org_type
        && let Some(sector) = classify_org_type(value)
        && sector != Sector::Commercial
    {
        return SectorDecision {
            sector,
            evidence: Evidence::Field {
                field: field.to_owned(),
                value: value.to_owned(),
            },
            agency: None,
        };
    }
    if let Some((source, sector)) = inputs.source {
        return SectorDecision {
            sector,
            evidence: Evidence::Source {
                source: source.to_owned(),
            },
            agency: None,
        };
    }
    match domain {
        Some((domain, sector, rule, agency)) => SectorDecision {
            sector,
            evidence: Evidence::Domain { domain, rule },
            agency,
        },
        None => SectorDecision {
            sector: Sector::Commercial,
            evidence: Evidence::Default,
            agency: None,
        },
    }
}

#[cfg(test)]
mod tests;
