use std::sync::OnceLock;

use super::*;

const SHARED_CSV: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/dotgov/current-full.csv"
);
const SHARED_FEDERAL_CSV: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/dotgov/current-federal.csv"
);

fn registry() -> &'static GovRegistry {
    static REGISTRY: OnceLock<GovRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let file = std::fs::read(SHARED_CSV)
            .expect("../shared/data/dotgov/current-full.csv (tests read ../shared)");
        GovRegistry::from_csv(file).expect("registry parses")
    })
}

fn sector_of(email_domain: &str) -> Sector {
    decide(
        SectorInputs {
            email_domain: Some(email_domain),
            ..Default::default()
        },
        Some(registry()),
    )
    .sector
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
    let mut reader = csv::Reader::from_path(SHARED_CSV).expect("shared CSV");
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

    // The federal-only file agrees: every domain in it is federal.
    let mut federal_file = csv::Reader::from_path(SHARED_FEDERAL_CSV).expect("federal CSV");
    for record in federal_file.records() {
        let record = record.expect("row");
        assert_eq!(sector_of(&record[0]), Sector::Federal, "{}", &record[0]);
    }
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
