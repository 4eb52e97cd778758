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

use std::fmt;

use serde::{Deserialize, Serialize};

pub use org_type::classify_org_type;
pub use registry::{GovDomain, GovRegistry, MAX_REGISTRY_BYTES, RegistryCopy, RegistryError};

/// The kind of organisation a lead comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sector {
    Federal,
    StateLocal,
    Education,
    /// A `.gov` address the registry could not place (or no registry loaded),
    /// or a government suffix under a non-ASCII or punycode label.
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
    /// The agency or organisation named by the .gov registry (for `.mil`,
    /// the department the service belongs to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    /// The registry's domain type in rule words (`federal_executive`,
    /// `state_or_territory`, `city`…); `None` outside the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_type: Option<String>,
    /// For `.mil`, the service (`army`, `navy`, `air_force`, `space_force`,
    /// `marine_corps`, `coast_guard`; `dod` for the department's own names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// What a government domain says about who is asking, for rules to match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Organisation {
    pub agency: Option<String>,
    pub domain_type: Option<String>,
    pub service: Option<String>,
}

/// A registry domain type in rule words: `Federal - Executive` →
/// `federal_executive`, `Special district` → `special_district`.
pub fn domain_type_words(domain_type: &str) -> String {
    let mut words = String::with_capacity(domain_type.len());
    let mut gap = false;
    for c in domain_type.chars() {
        if c.is_ascii_alphanumeric() {
            if gap && !words.is_empty() {
                words.push('_');
            }
            gap = false;
            words.push(c.to_ascii_lowercase());
        } else {
            gap = true;
        }
    }
    words
}

/// The military services by the label before `.mil` (`army.mil`,
/// `us.af.mil`), and the department each belongs to. Any other `.mil` name
/// is the Department of Defense's own (`mail.mil`, `osd.mil`).
const MIL_SERVICES: [(&str, &str, &str); 7] = [
    ("army", "army", DOD),
    ("navy", "navy", DOD),
    ("af", "air_force", DOD),
    ("spaceforce", "space_force", DOD),
    ("marines", "marine_corps", DOD),
    ("usmc", "marine_corps", DOD),
    // The Coast Guard serves under Homeland Security outside wartime.
    ("uscg", "coast_guard", "Department of Homeland Security"),
];
const DOD: &str = "Department of Defense";

/// The service and department of a `.mil` name (`us.af.mil` is the Air Force).
fn mil_organisation(labels: &[&str]) -> Organisation {
    let name = labels.iter().rev().nth(1).copied();
    let (service, agency) = MIL_SERVICES
        .iter()
        .find(|(label, _, _)| name == Some(label))
        .map_or(("dod", DOD), |(_, service, agency)| (service, agency));
    Organisation {
        agency: Some(agency.to_owned()),
        domain_type: None,
        service: Some(service.to_owned()),
    }
}

/// Lower case, no trailing dot, no surrounding spaces.
pub fn normalise_domain(domain: &str) -> String {
    domain.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// `jpl.nasa.gov` → `nasa.gov`; `None` unless the TLD is `.gov`.
fn registered_gov_domain(domain: &str) -> Option<&str> {
    let (rest, tld) = domain.rsplit_once('.')?;
    if tld != "gov" {
        return None;
    }
    let second = rest.rsplit_once('.').map_or(rest, |(_, label)| label);
    if second.is_empty() {
        return None;
    }
    // Checked and sliced with `get`: the domain is the sender's.
    let start = domain.len().checked_sub(second.len() + ".gov".len())?;
    domain.get(start..)
}

/// The two-letter codes of the `.us` locality namespace (states, DC, territories).
const US_STATES: &[&str] = &[
    "al", "ak", "az", "ar", "ca", "co", "ct", "de", "dc", "fl", "ga", "hi", "id", "il", "in", "ia",
    "ks", "ky", "la", "me", "md", "ma", "mi", "mn", "ms", "mo", "mt", "ne", "nv", "nh", "nj", "nm",
    "ny", "nc", "nd", "oh", "ok", "or", "pa", "ri", "sc", "sd", "tn", "tx", "ut", "vt", "va", "wa",
    "wv", "wi", "wy", "as", "gu", "mp", "pr", "vi",
];

/// The suffixes that make a domain government, read before any registry lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GovernmentSuffix {
    Mil,
    FedUs,
    UsLocality,
    Gov,
}

impl GovernmentSuffix {
    /// The suffix of a domain's labels (at least one label before it).
    fn of(labels: &[&str]) -> Option<Self> {
        let (tld, rest) = labels.split_last()?;
        let second = rest.last().copied();
        match *tld {
            "mil" if !rest.is_empty() => Some(Self::Mil),
            "us" if second == Some("fed") && rest.len() >= 2 => Some(Self::FedUs),
            "us" if rest.len() >= 2 && second.is_some_and(|s| US_STATES.contains(&s)) => {
                Some(Self::UsLocality)
            }
            "gov" if !rest.is_empty() => Some(Self::Gov),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Mil => ".mil",
            Self::FedUs => ".fed.us",
            Self::UsLocality => ".us locality domain",
            Self::Gov => ".gov",
        }
    }
}

/// Whether a label is not plain ASCII, or is the punycode (`xn--`) of one
/// that is not. No .gov, .mil or .fed.us name has such a label: one under a
/// government suffix is a lookalike (`nаvy.mil` with a Cyrillic `а`).
fn is_international_label(label: &str) -> bool {
    !label.is_ascii()
        || label
            .get(..4)
            .is_some_and(|start| start.eq_ignore_ascii_case("xn--"))
}

/// The sector an email domain alone implies, with the rule used.
pub fn classify_domain(
    domain: &str,
    registry: Option<&GovRegistry>,
) -> (Sector, String, Organisation) {
    let domain = normalise_domain(domain);
    let labels: Vec<&str> = domain.split('.').collect();
    let Some(suffix) = GovernmentSuffix::of(&labels) else {
        return match labels.as_slice() {
            [_, .., "edu"] => (Sector::Education, ".edu".into(), Organisation::default()),
            _ => (
                Sector::Commercial,
                "not a government or education domain".into(),
                Organisation::default(),
            ),
        };
    };
    // Checked before the suffix or the registry can vouch for the name.
    if labels.iter().any(|label| is_international_label(label)) {
        return (
            Sector::GovernmentUnverified,
            format!(
                "{} with a non-ASCII or punycode label: never verified government",
                suffix.name()
            ),
            Organisation::default(),
        );
    }
    match suffix {
        GovernmentSuffix::Mil => (Sector::Federal, ".mil".into(), mil_organisation(&labels)),
        GovernmentSuffix::FedUs => (Sector::Federal, ".fed.us".into(), Organisation::default()),
        GovernmentSuffix::UsLocality => (
            Sector::StateLocal,
            ".us locality domain".into(),
            Organisation::default(),
        ),
        GovernmentSuffix::Gov => match registry.and_then(|r| r.lookup(&domain)) {
            Some((registered, entry)) => (
                entry.sector(),
                format!("{registered} is {} in the .gov registry", entry.domain_type),
                Organisation {
                    agency: Some(entry.organization.to_owned()),
                    domain_type: Some(domain_type_words(entry.domain_type)),
                    service: None,
                },
            ),
            None if registry.is_some() => (
                Sector::GovernmentUnverified,
                ".gov not in the registry".into(),
                Organisation::default(),
            ),
            None => (
                Sector::GovernmentUnverified,
                ".gov (no registry loaded)".into(),
                Organisation::default(),
            ),
        },
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
        let (sector, rule, organisation) = classify_domain(d, registry);
        (normalise_domain(d), sector, rule, organisation)
    });
    if let Some((domain, sector, rule, organisation)) = &domain
        && !matches!(sector, Sector::Commercial | Sector::GovernmentUnverified)
    {
        return SectorDecision::of(
            *sector,
            Evidence::Domain {
                domain: domain.clone(),
                rule: rule.clone(),
            },
            organisation.clone(),
        );
    }
    if let Some((field, value)) = inputs.org_type
        && let Some(sector) = classify_org_type(value)
        && sector != Sector::Commercial
    {
        let evidence = Evidence::Field {
            field: field.to_owned(),
            value: value.to_owned(),
        };
        return SectorDecision::of(sector, evidence, Organisation::default());
    }
    if let Some((source, sector)) = inputs.source {
        let evidence = Evidence::Source {
            source: source.to_owned(),
        };
        return SectorDecision::of(sector, evidence, Organisation::default());
    }
    match domain {
        Some((domain, sector, rule, organisation)) => {
            SectorDecision::of(sector, Evidence::Domain { domain, rule }, organisation)
        }
        None => SectorDecision::of(
            Sector::Commercial,
            Evidence::Default,
            Organisation::default(),
        ),
    }
}

impl SectorDecision {
    pub fn of(sector: Sector, evidence: Evidence, organisation: Organisation) -> Self {
        Self {
            sector,
            evidence,
            agency: organisation.agency,
            domain_type: organisation.domain_type,
            service: organisation.service,
        }
    }
}

mod csv_split;
mod org_type;
pub mod refresh;
mod registry;

#[cfg(test)]
mod tests;
