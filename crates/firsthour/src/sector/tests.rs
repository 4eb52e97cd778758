use std::sync::OnceLock;

use super::*;

/// The get.gov registry snapshot the project carries (see `data/README.md`).
const SNAPSHOT_CSV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/dotgov.csv");

fn registry() -> &'static GovRegistry {
    static REGISTRY: OnceLock<GovRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let file = std::fs::read(SNAPSHOT_CSV).expect("data/dotgov.csv");
        GovRegistry::from_csv(file).expect("registry parses")
    })
}

/// The sector from the parsed snapshot, which the built-in copy must match.
fn sector_of(email_domain: &str) -> Sector {
    let inputs = SectorInputs {
        email_domain: Some(email_domain),
        ..Default::default()
    };
    let parsed = decide(inputs, Some(registry()));
    assert_eq!(decide(inputs, Some(&GovRegistry::built_in())), parsed);
    parsed.sector
}

#[test]
fn sector_table() {
    use Sector::*;
    let table: &[(&str, Sector)] = &[
        // .mil and .fed.us: federal by suffix.
        ("army.mil", Federal),
        ("mail.mil", Federal),
        ("us.af.mil", Federal),
        ("usace.army.mil", Federal),
        ("navy.mil", Federal),
        ("MAIL.MIL", Federal),
        ("us.navy.mil.", Federal),
        ("fs.fed.us", Federal),
        ("nrcs.usda.fed.us", Federal),
        // Federal .gov, and their subdomains, from the registry.
        ("state.gov", Federal),
        ("nasa.gov", Federal),
        ("jpl.nasa.gov", Federal),
        ("house.gov", Federal),
        ("mail.house.gov", Federal),
        ("senate.gov", Federal),
        ("va.gov", Federal),
        ("usda.gov", Federal),
        ("gsa.gov", Federal),
        ("irs.gov", Federal),
        ("cdc.gov", Federal),
        ("nih.gov", Federal),
        ("ncbi.nlm.nih.gov", Federal),
        ("uscourts.gov", Federal),
        ("supremecourt.gov", Federal),
        ("loc.gov", Federal),
        ("gao.gov", Federal),
        ("GSA.GOV", Federal),
        ("gsa.gov.", Federal),
        // State, county, city, tribal .gov.
        ("ca.gov", StateLocal),
        ("cdt.ca.gov", StateLocal),
        ("texas.gov", StateLocal),
        ("ny.gov", StateLocal),
        ("its.ny.gov", StateLocal),
        ("mass.gov", StateLocal),
        ("fairfaxcounty.gov", StateLocal),
        ("nyc.gov", StateLocal),
        ("seattle.gov", StateLocal),
        ("lacity.gov", StateLocal),
        ("boston.gov", StateLocal),
        ("navajo-nsn.gov", StateLocal),
        ("cherokee.gov", StateLocal),
        // .us locality domains.
        ("state.tx.us", StateLocal),
        ("co.fairfax.va.us", StateLocal),
        ("k12.nj.us", StateLocal),
        ("dot.state.tx.us", StateLocal),
        ("ci.boston.ma.us", StateLocal),
        ("STATE.NY.US", StateLocal),
        // Education.
        ("mit.edu", Education),
        ("cs.stanford.edu", Education),
        ("HARVARD.EDU", Education),
        // Unregistered .gov: not guessed.
        ("not-a-real-agency-xyz.gov", GovernmentUnverified),
        ("sub.not-a-real-agency-xyz.gov", GovernmentUnverified),
        // Commercial, including lookalikes.
        ("example.com", Commercial),
        ("gmail.com", Commercial),
        ("va.gov.example.com", Commercial),
        ("gov.example.com", Commercial),
        ("nasa.gov.evil.io", Commercial),
        ("mil.example.org", Commercial),
        ("army.mil.example.com", Commercial),
        ("example.us", Commercial),
        ("tx.us", Commercial),
        ("edu.example.com", Commercial),
        ("fed.us.example.com", Commercial),
        ("gov.uk", Commercial),
        ("example.co.uk", Commercial),
    ];
    assert!(table.len() >= 60, "{} cases", table.len());
    for (domain, expected) in table {
        assert_eq!(sector_of(domain), *expected, "{domain}");
    }
}

#[test]
fn registered_gov_domains_of_odd_addresses() {
    for (domain, expected) in [
        ("jpl.nasa.gov", Some("nasa.gov")),
        ("nasa.gov", Some("nasa.gov")),
        ("a.b.c.gov", Some("c.gov")),
        ("caf\u{e9}.gov", Some("caf\u{e9}.gov")),
        ("x.\u{e9}.gov", Some("\u{e9}.gov")),
        ("gov", None),
        (".gov", None),
        ("..gov", None),
        ("x..gov", None),
        ("nasa.gov.", None),
        ("", None),
        (".", None),
        ("nasa.gov.com", None),
    ] {
        assert_eq!(registered_gov_domain(domain), expected, "{domain:?}");
    }
}

#[test]
fn without_the_registry_gov_is_unverified_not_guessed() {
    for domain in ["state.gov", "ca.gov", "jpl.nasa.gov"] {
        let decision = decide(
            SectorInputs {
                email_domain: Some(domain),
                ..Default::default()
            },
            None,
        );
        assert_eq!(decision.sector, Sector::GovernmentUnverified, "{domain}");
    }
    assert_eq!(
        decide(
            SectorInputs {
                email_domain: Some("army.mil"),
                ..Default::default()
            },
            None
        )
        .sector,
        Sector::Federal
    );
}

#[test]
fn registry_agency_is_the_organisation_name() {
    let decision = decide(
        SectorInputs {
            email_domain: Some("jpl.nasa.gov"),
            ..Default::default()
        },
        Some(registry()),
    );
    assert_eq!(
        decision.agency.as_deref(),
        Some("National Aeronautics and Space Administration")
    );
    assert!(
        matches!(decision.evidence, Evidence::Domain { ref domain, .. } if domain == "jpl.nasa.gov")
    );
}

#[test]
fn every_registry_domain_is_classified_as_the_registry_says() {
    let mut reader = csv::Reader::from_path(SNAPSHOT_CSV).expect("snapshot CSV");
    let headers = reader.headers().expect("headers").clone();
    let domain_col = headers
        .iter()
        .position(|h| h.eq_ignore_ascii_case("domain name"))
        .expect("domain column");
    let type_col = headers
        .iter()
        .position(|h| h.eq_ignore_ascii_case("domain type"))
        .expect("type column");
    let (mut federal, mut other) = (0, 0);
    for record in reader.records() {
        let record = record.expect("row");
        let domain = &record[domain_col];
        let is_federal = record[type_col].starts_with("Federal");
        let sector = sector_of(domain);
        if is_federal {
            federal += 1;
            assert_eq!(sector, Sector::Federal, "{domain} is federal");
        } else {
            other += 1;
            assert_eq!(sector, Sector::StateLocal, "{domain} is not federal");
        }
    }
    assert!(
        federal > 1000 && other > 14000,
        "{federal} federal, {other} other"
    );
}

#[test]
fn older_registry_layout_with_agency_column() {
    let csv = "Domain Name,Domain Type,Agency,Organization,City,State,Security Contact Email\n\
               NASA.GOV,Federal - Executive,National Aeronautics and Space Administration,NASA,Washington,DC,\n\
               CA.GOV,State/Local Govt,Non-Federal Agency,State of California,Sacramento,CA,\n";
    let registry = GovRegistry::from_csv(csv.as_bytes()).expect("parses");
    assert_eq!(registry.len(), 2);
    assert_eq!(
        classify_domain("jpl.nasa.gov", Some(&registry)).0,
        Sector::Federal
    );
    assert_eq!(
        classify_domain("ca.gov", Some(&registry)).0,
        Sector::StateLocal
    );
    assert!(matches!(
        GovRegistry::from_csv("a,b\n1,2\n".as_bytes()),
        Err(RegistryError::MissingColumn(_))
    ));
    assert!(matches!(
        GovRegistry::from_csv("Domain name,Domain type\n".as_bytes()),
        Err(RegistryError::Empty)
    ));
}

#[test]
fn registry_rows_are_normalised_deduplicated_and_tolerate_bad_bytes() {
    let mut csv = b"Domain name,Domain type,Organization name\n\
        \" Example.GOV. \",City,\"Town of Example, \"\"Old\"\" Hall\"\n\
        twice.gov,City,First\n\
        twice.gov,Federal - Executive,Second\n\
        not-a-gov.com,Federal,Nobody\n\
        bytes.gov,County,"
        .to_vec();
    csv.extend_from_slice(b"Caf\xe9 County\n");
    let registry = GovRegistry::from_csv(csv).expect("parses");
    assert_eq!(registry.len(), 3, "example, twice (once) and bytes");

    let (registered, entry) = registry.lookup("mail.example.gov").expect("found");
    assert_eq!(registered, "example.gov");
    assert_eq!(entry.organization, "Town of Example, \"Old\" Hall");
    assert_eq!(entry.sector(), Sector::StateLocal);

    // A domain listed twice: the later row wins, as a map insert would.
    let (_, entry) = registry.lookup("twice.gov").expect("found");
    assert_eq!(
        (entry.organization, entry.sector()),
        ("Second", Sector::Federal)
    );

    // Bytes that are not UTF-8 are replaced, not an error.
    let (_, entry) = registry.lookup("bytes.gov").expect("found");
    assert_eq!(entry.organization, "Caf\u{fffd} County");
    assert!(registry.lookup("not-a-gov.com").is_none());
    assert!(registry.lookup("unknown.gov").is_none());
}

#[test]
fn form_fields_and_sources_in_precedence() {
    let field = |v: &'static str| SectorInputs {
        email_domain: Some("gmail.com"),
        org_type: Some(("organization_type", v)),
        source: None,
    };
    assert_eq!(
        decide(field("Federal Government"), Some(registry())).sector,
        Sector::Federal
    );
    assert_eq!(
        decide(field("State/Local Government"), Some(registry())).sector,
        Sector::StateLocal
    );
    assert_eq!(
        decide(field("Higher Education"), Some(registry())).sector,
        Sector::Education
    );
    assert_eq!(
        decide(field("United States Government"), Some(registry())).sector,
        Sector::Federal
    );
    assert_eq!(
        decide(field("Real estate"), Some(registry())).sector,
        Sector::Commercial
    );
    // A verified domain outranks the field.
    let verified = SectorInputs {
        email_domain: Some("ca.gov"),
        org_type: Some(("org", "Federal Government")),
        source: None,
    };
    assert_eq!(
        decide(verified, Some(registry())).sector,
        Sector::StateLocal
    );
    // A government portal source makes a gmail address a government lead.
    let portal = SectorInputs {
        email_domain: Some("gmail.com"),
        org_type: None,
        source: Some(("gov-portal", Sector::Federal)),
    };
    let decision = decide(portal, Some(registry()));
    assert_eq!(decision.sector, Sector::Federal);
    assert!(matches!(decision.evidence, Evidence::Source { .. }));
    // The field outranks the source.
    let both = SectorInputs {
        email_domain: None,
        org_type: Some(("org", "County")),
        source: Some(("gov-portal", Sector::Federal)),
    };
    assert_eq!(decide(both, None).sector, Sector::StateLocal);
    assert_eq!(
        decide(SectorInputs::default(), None).evidence,
        Evidence::Default
    );
}

/// Organisation-type answers as form dropdowns carry them: HubSpot and
/// Salesforce picklists (industry and account type), Typeform and
/// landing-page "What type of organization…" choices, grants.gov's SF-424
/// applicant types, the .gov registry's own wording, and
/// government-contracting vendor forms.
#[test]
fn org_type_table() {
    use Sector::*;
    let table: &[(&str, Option<Sector>)] = &[
        // Federal.
        ("Federal Government", Some(Federal)),
        ("Federal", Some(Federal)),
        ("FEDERAL", Some(Federal)),
        ("Federal Agency", Some(Federal)),
        ("Government - Federal", Some(Federal)),
        ("Public Sector - Federal", Some(Federal)),
        ("U.S. Federal Government", Some(Federal)),
        ("United States Government", Some(Federal)),
        ("US Government", Some(Federal)),
        ("U.S. Government", Some(Federal)),
        ("USG", Some(Federal)),
        ("Federal - Civilian", Some(Federal)),
        ("Federal Civilian Agency", Some(Federal)),
        ("Federal - Executive", Some(Federal)),
        ("Federal - Legislative", Some(Federal)),
        ("Federal - Judicial", Some(Federal)),
        ("Federal (non-DoD)", Some(Federal)),
        ("Non-DoD Federal Agency", Some(Federal)),
        ("Intelligence Community", Some(Federal)),
        // Military services and the defence department.
        ("Military", Some(Federal)),
        ("Army", Some(Federal)),
        ("U.S. Army", Some(Federal)),
        ("Navy", Some(Federal)),
        ("Department of the Navy", Some(Federal)),
        ("Air Force", Some(Federal)),
        ("US Air Force", Some(Federal)),
        ("Marine Corps", Some(Federal)),
        ("USMC", Some(Federal)),
        ("Space Force", Some(Federal)),
        ("Coast Guard", Some(Federal)),
        ("National Guard", Some(Federal)),
        ("Army National Guard", Some(Federal)),
        ("DoD", Some(Federal)),
        ("Department of Defense (DoD)", Some(Federal)),
        ("Defense Department", Some(Federal)),
        ("Armed Forces", Some(Federal)),
        ("Federal - Defense", Some(Federal)),
        // Negations: not federal.
        ("Non-federal", None),
        ("Non federal", None),
        ("Nonfederal", None),
        ("NON-FEDERAL", None),
        ("Not federal", None),
        ("Other (non-federal)", None),
        ("Non-Federal Agency", Some(StateLocal)),
        ("Non-federal government", Some(StateLocal)),
        ("Not a federal agency", Some(StateLocal)),
        ("State (non-federal)", Some(StateLocal)),
        ("Non-Federal (State, Local, Tribal)", Some(StateLocal)),
        // Says federal and not federal: a government, never federal (the
        // property test's find).
        ("Nonfederal fed", Some(GovernmentUnverified)),
        ("Non-military government", Some(GovernmentUnverified)),
        ("Retired military", None),
        ("Ex-military", None),
        // Contractors and grantees work for a government; they are not one.
        ("Federal contractor (private company)", Some(Commercial)),
        ("Federal Contractor", Some(Commercial)),
        ("Government contractor", Some(Commercial)),
        (
            "Government Contractor / Systems Integrator",
            Some(Commercial),
        ),
        ("Defense contractor", Some(Commercial)),
        ("DoD Contractor", Some(Commercial)),
        ("Military contractor", Some(Commercial)),
        ("Federal Systems Integrator", Some(Commercial)),
        ("Federal Reseller", Some(Commercial)),
        ("Subcontractor to a federal prime", Some(Commercial)),
        ("GovCon", Some(Commercial)),
        ("Government vendor", Some(Commercial)),
        ("Consulting", Some(Commercial)),
        ("Federal grantee", None),
        ("State agency (federal grant recipient)", Some(StateLocal)),
        // Companies, public or private.
        ("Public company", Some(Commercial)),
        ("Publicly traded company", Some(Commercial)),
        ("Private company", Some(Commercial)),
        ("Private sector", Some(Commercial)),
        ("Commercial", Some(Commercial)),
        ("Enterprise", Some(Commercial)),
        ("Small Business", Some(Commercial)),
        ("SMB", Some(Commercial)),
        ("Startup", Some(Commercial)),
        ("Local business", Some(Commercial)),
        ("Veteran-Owned Small Business", Some(Commercial)),
        (
            "Service-Disabled Veteran-Owned Small Business (SDVOSB)",
            Some(Commercial),
        ),
        ("Tribally-owned business", Some(Commercial)),
        ("State-owned enterprise", Some(Commercial)),
        ("Federal Credit Union", Some(Commercial)),
        (
            "For-Profit Organization (Other than Small Business)",
            Some(Commercial),
        ),
        ("Self-employed", Some(Commercial)),
        ("Individual", Some(Commercial)),
        ("Marketing Agency", Some(Commercial)),
        ("Advertising agency", Some(Commercial)),
        ("Public Relations", Some(Commercial)),
        ("Real estate", Some(Commercial)),
        ("Defense & Space", None),
        ("Aerospace & Defense industry", Some(Commercial)),
        // Public sector, level unknown.
        ("Public sector", Some(GovernmentUnverified)),
        ("Public", Some(GovernmentUnverified)),
        ("Government", Some(GovernmentUnverified)),
        ("Government Agency", Some(GovernmentUnverified)),
        ("Government Administration", Some(GovernmentUnverified)),
        ("Public Safety", Some(GovernmentUnverified)),
        ("Quasi-governmental", Some(GovernmentUnverified)),
        (
            "Federal, State & Local Government",
            Some(GovernmentUnverified),
        ),
        ("Federal/State/Local", Some(GovernmentUnverified)),
        // Foreign and international governments.
        ("Foreign government", Some(GovernmentUnverified)),
        (
            "International / Foreign Government",
            Some(GovernmentUnverified),
        ),
        ("Non-U.S. Government", Some(GovernmentUnverified)),
        ("Non-US government agency", Some(GovernmentUnverified)),
        ("Foreign military", Some(GovernmentUnverified)),
        ("Embassy / Consulate", Some(GovernmentUnverified)),
        ("Non-domestic (non-US) Entity", None),
        ("International organization", None),
        // State, local, tribal, territorial.
        ("State/Local Government", Some(StateLocal)),
        ("State Government", Some(StateLocal)),
        ("State & Local", Some(StateLocal)),
        ("Public Sector - State & Local", Some(StateLocal)),
        ("Local Government", Some(StateLocal)),
        ("County", Some(StateLocal)),
        ("County Government", Some(StateLocal)),
        ("City or Township Government", Some(StateLocal)),
        ("City/Municipal", Some(StateLocal)),
        ("Municipality", Some(StateLocal)),
        ("Special District Government", Some(StateLocal)),
        ("Special district", Some(StateLocal)),
        ("State or territory", Some(StateLocal)),
        ("U.S. Territory or Possession", Some(StateLocal)),
        ("Interstate", Some(StateLocal)),
        ("Public/Indian Housing Authority", Some(StateLocal)),
        ("SLED", Some(StateLocal)),
        ("Tribal", Some(StateLocal)),
        ("Tribal Government", Some(StateLocal)),
        ("Tribal Nation", Some(StateLocal)),
        ("Native American Tribe", Some(StateLocal)),
        ("Federally Recognized Tribe", Some(StateLocal)),
        (
            "Indian/Native American Tribal Government (Federally Recognized)",
            Some(StateLocal),
        ),
        (
            "Indian/Native American Tribal Government (Other than Federally Recognized)",
            Some(StateLocal),
        ),
        // Education, K-12 and higher.
        ("K-12", Some(Education)),
        ("K12", Some(Education)),
        ("K-12 Education", Some(Education)),
        ("PK-12 School District", Some(Education)),
        ("School district", Some(Education)),
        ("Independent School District", Some(Education)),
        ("Public school", Some(Education)),
        ("Primary/Secondary Education", Some(Education)),
        ("Higher Education", Some(Education)),
        ("Higher Ed", Some(Education)),
        ("University", Some(Education)),
        ("State University", Some(Education)),
        ("Community College", Some(Education)),
        ("Tribal college", Some(Education)),
        (
            "Public/State Controlled Institution of Higher Education",
            Some(Education),
        ),
        ("Private Institution of Higher Education", Some(Education)),
        (
            "Historically Black Colleges and Universities (HBCUs)",
            Some(Education),
        ),
        ("Educational institution", Some(Education)),
        ("Academic / Research", Some(Education)),
        // Non-profits and NGOs (commercial in this vocabulary).
        ("Non-profit", Some(Commercial)),
        ("Nonprofit", Some(Commercial)),
        ("Not-for-profit", Some(Commercial)),
        ("Not For Profit", Some(Commercial)),
        ("Nonprofit / NGO", Some(Commercial)),
        ("Non-governmental organization (NGO)", Some(Commercial)),
        ("Non-government organisation", Some(Commercial)),
        (
            "Nonprofit with 501C3 IRS Status (Other than Institution of Higher Education)",
            Some(Commercial),
        ),
        ("Foundation", Some(Commercial)),
        ("Public charity", Some(Commercial)),
        ("Government / Non-profit", Some(GovernmentUnverified)),
        // Nothing to go on.
        ("Other", None),
        ("", None),
        ("N/A", None),
        ("Healthcare", None),
        ("Law Enforcement", None),
        ("Prefer not to say", None),
        ("Confederation", None),
        ("Federalist Society", None),
    ];
    assert!(table.len() >= 40, "{} cases", table.len());
    let wrong: Vec<String> = table
        .iter()
        .filter(|(value, expected)| classify_org_type(value) != *expected)
        .map(|(value, expected)| {
            format!(
                "{value:?}: expected {expected:?}, got {:?}",
                classify_org_type(value)
            )
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Every domain type the .gov registry uses, as an answer, agrees with the
/// registry: federal exactly when the registry says federal.
#[test]
fn registry_domain_types_as_answers_agree_with_the_registry() {
    let mut reader = csv::Reader::from_path(SNAPSHOT_CSV).expect("snapshot CSV");
    let headers = reader.headers().expect("headers").clone();
    let type_col = headers
        .iter()
        .position(|h| h.eq_ignore_ascii_case("domain type"))
        .expect("type column");
    let mut types = std::collections::BTreeSet::new();
    for record in reader.records() {
        types.insert(record.expect("row")[type_col].to_owned());
    }
    assert!(types.len() >= 10, "{types:?}");
    for domain_type in types {
        let sector = classify_org_type(&domain_type);
        if domain_type.starts_with("Federal") {
            assert_eq!(sector, Some(Sector::Federal), "{domain_type}");
        } else {
            assert!(
                matches!(sector, Some(Sector::StateLocal | Sector::Education)),
                "{domain_type}: {sector:?}"
            );
        }
    }
}

#[test]
fn a_non_federal_answer_never_routes_to_the_federal_team() {
    for value in [
        "Non-federal",
        "Non-Federal Agency",
        "State (non-federal)",
        "Federal contractor (private company)",
    ] {
        let decision = decide(
            SectorInputs {
                email_domain: Some("gmail.com"),
                org_type: Some(("organization_type", value)),
                source: None,
            },
            Some(registry()),
        );
        assert_ne!(decision.sector, Sector::Federal, "{value}");
    }
}

mod org_type_properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_string_is_an_answer(value in any::<String>()) {
            let _ = classify_org_type(&value);
        }

        #[test]
        fn ascii_case_does_not_matter(value in "[ -~]{0,60}") {
            prop_assert_eq!(
                classify_org_type(&value),
                classify_org_type(&value.to_ascii_uppercase())
            );
        }

        /// Whatever follows, "non-federal" is never federal on its own word.
        #[test]
        fn non_federal_is_never_federal(
            prefix in "(Non|non|NON|Not|not)[- ]?",
            rest in "( (agency|government|organization|entity|customer|sector|public|[a-z]{1,8}))?",
        ) {
            let value = format!("{prefix}federal{rest}");
            prop_assert_ne!(classify_org_type(&value), Some(Sector::Federal), "{}", value);
        }
    }
}

/// A government suffix vouches only for ASCII names: a non-ASCII label
/// (a Cyrillic homoglyph) or its punycode (`xn--`) is never verified
/// government, from the suffix or from the registry, however it is spelled.
#[test]
fn lookalike_labels_are_never_verified_government() {
    let lookalikes = [
        "n\u{430}vy.mil",      // Cyrillic а
        "xn--nvy-6cd.mil",     // the same, as punycode
        "XN--NVY-6CD.MIL",     // upper case
        "mail.n\u{430}vy.mil", // under a subdomain
        "n\u{430}vy.army.mil", // the lookalike label below a real one
        "st\u{430}te.gov",     // would be federal from the registry
        "xn--stte-63d.gov",    // the same, as punycode
        "jpl.n\u{430}sa.gov",  // a subdomain of a lookalike
        "xn--c-8sb.gov",       // cа.gov: state/local
        "f\u{455}.fed.us",     // Cyrillic ѕ
        "xn--f-dvb.fed.us",    // the same, as punycode
        "xn--stte-63d.tx.us",  // .us locality
        "st\u{430}te.tx.us",
    ];
    // A registry that lists the lookalikes too: the check comes before it.
    let csv = "Domain name,Domain type,Organization name\n\
               xn--stte-63d.gov,Federal - Executive,Lookalike\n\
               st\u{430}te.gov,Federal - Executive,Lookalike\n\
               xn--c-8sb.gov,State,Lookalike\n";
    let listing = GovRegistry::from_csv(csv.as_bytes()).expect("parses");
    for domain in lookalikes {
        for registry in [Some(registry()), Some(&listing), None] {
            let decision = decide(
                SectorInputs {
                    email_domain: Some(domain),
                    ..Default::default()
                },
                registry,
            );
            assert_eq!(
                decision.sector,
                Sector::GovernmentUnverified,
                "{domain}: {decision:?}"
            );
            assert_eq!(decision.agency, None, "{domain}");
            assert!(
                matches!(&decision.evidence, Evidence::Domain { rule, .. } if rule.contains("non-ASCII or punycode")),
                "{domain}: {decision:?}"
            );
        }
    }
    // Not a government suffix: the label alone changes nothing.
    for (domain, expected) in [
        ("xn--bcher-kva.example", Sector::Commercial),
        ("b\u{fc}cher.com", Sector::Commercial),
        ("n\u{430}vy.mil.example.com", Sector::Commercial),
        ("xn--mit-abc.edu", Sector::Education),
        // A label that merely contains `xn--` is ASCII like any other.
        ("axn--b.navy.mil", Sector::Federal),
    ] {
        assert_eq!(sector_of(domain), expected, "{domain}");
    }
    // Other evidence is still read: the lookalike only loses the domain's word.
    let portal = SectorInputs {
        email_domain: Some("n\u{430}vy.mil"),
        org_type: None,
        source: Some(("gov-portal", Sector::StateLocal)),
    };
    assert_eq!(decide(portal, Some(registry())).sector, Sector::StateLocal);
}
