//! The built-in tables held to the CSV parser, row by row.

use super::*;

const SNAPSHOT_CSV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/dotgov.csv");

fn parsed_snapshot() -> GovRegistry {
    let file = std::fs::read(SNAPSHOT_CSV).expect("data/dotgov.csv");
    GovRegistry::from_csv(file).expect("the snapshot parses")
}

/// Every row of the committed CSV answers the same registered domain, type,
/// organisation and sector from the built-in table as from the parsed file.
#[test]
fn every_snapshot_row_answers_as_the_parsed_file() {
    let parsed = parsed_snapshot();
    let built_in = GovRegistry::built_in();
    assert_eq!(built_in.len(), parsed.len());
    let mut reader = csv::Reader::from_path(SNAPSHOT_CSV).expect("snapshot CSV");
    let mut rows = 0;
    for record in reader.records() {
        let record = record.expect("row");
        let domain = record.get(0).expect("domain column");
        let expected = parsed.lookup(domain).expect("the parser finds its own row");
        assert_eq!(built_in.lookup(domain), Some(expected), "{domain}");
        // And a subdomain of it, as an address would give it.
        let under = format!("mail.{domain}");
        assert_eq!(built_in.lookup(&under), parsed.lookup(&under), "{under}");
        rows += 1;
    }
    assert!(rows >= built_in.len() && rows > 16_000, "{rows} rows");
}

/// Binary search needs strictly increasing domains (no duplicates either).
#[test]
fn built_in_domains_are_sorted_and_distinct() {
    let domains: Vec<&str> = built_in::domains().collect();
    assert_eq!(domains.len(), built_in::LEN);
    assert!(domains.windows(2).all(|pair| pair[0] < pair[1]));
    let parsed = parsed_snapshot();
    for domain in domains {
        assert!(
            parsed.lookup(domain).is_some(),
            "{domain} is not in the file"
        );
    }
}

#[test]
fn built_in_lookups_keep_the_registry_rules() {
    let registry = GovRegistry::built_in();
    let (registered, nasa) = registry.lookup("jpl.nasa.gov").expect("nasa.gov");
    assert_eq!(registered, "nasa.gov");
    assert_eq!(
        nasa.organization,
        "National Aeronautics and Space Administration"
    );
    assert_eq!(nasa.sector(), Sector::Federal);
    assert_eq!(
        registry.lookup("ca.gov").map(|(_, row)| row.sector()),
        Some(Sector::StateLocal)
    );
    for outside in [
        "unknown-agency.gov",
        "gov",
        ".gov",
        "nasa.gov.example.com",
        "example.com",
        "",
        "zzzzzzzz.gov",
        "0.gov",
    ] {
        assert!(registry.lookup(outside).is_none(), "{outside}");
    }
}

#[test]
fn each_copy_says_what_it_is_and_its_date() {
    let built_in = GovRegistry::built_in();
    assert_eq!(built_in.copy(), &RegistryCopy::BuiltIn);
    let date = built_in.dated().expect("the snapshot is dated").to_string();
    assert_eq!(
        built_in.copy().to_string(),
        format!("the built-in get.gov snapshot of {date}")
    );
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/README.md"))
        .expect("data/README.md");
    assert!(
        readme.contains(&date),
        "data/README.md dates the snapshot {date}"
    );

    let given = parsed_snapshot();
    assert_eq!(given.copy(), &RegistryCopy::Given);
    assert_eq!(given.dated(), None);

    let modified = jiff::Timestamp::from_second(1_788_000_000).expect("a time");
    let file = given.read_from(
        std::path::Path::new("/opt/current-full.csv"),
        Some(std::time::SystemTime::from(modified)),
    );
    assert_eq!(file.copy().kind(), "file");
    assert_eq!(file.dated(), Some(jiff::civil::date(2026, 8, 29)));
    assert_eq!(
        file.copy().to_string(),
        "the file /opt/current-full.csv (modified 2026-08-29)"
    );
}
