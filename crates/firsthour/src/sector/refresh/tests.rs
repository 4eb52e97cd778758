use proptest::prelude::*;

use super::*;

const SNAPSHOT: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/dotgov.csv"));

fn at() -> jiff::Timestamp {
    "2026-11-30T06:00:00Z".parse().expect("timestamp")
}

fn check_text(text: &str) -> Result<(StoredRegistry, CheckSummary), Rejection> {
    check(
        text.as_bytes(),
        &GovRegistry::built_in(),
        &RefreshChecks::default(),
        "https://manage.get.gov/api/v1/get-report/current-full",
        at(),
    )
}

fn snapshot_lines() -> Vec<&'static str> {
    SNAPSHOT.lines().skip(1).collect()
}

fn with_rows(rows: &[&str]) -> String {
    let mut text = String::from("Domain name,Domain type,Organization name\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text
}

#[test]
fn the_snapshot_itself_is_accepted_with_no_changes() {
    let (stored, summary) = check_text(SNAPSHOT).expect("accepted");
    assert_eq!(summary.changed, 0);
    assert_eq!(summary.removed, 0);
    assert_eq!(summary.gone, 0);
    assert_eq!(summary.rows, GovRegistry::built_in().len());
    assert_eq!(summary.federal_kept, summary.federal_in_snapshot);
    assert!(stored.fits_this_build());
    assert_eq!(stored.sha256.len(), 64);
    let registry = stored.registry().expect("registry");
    assert_eq!(registry.len(), GovRegistry::built_in().len());
    assert_eq!(registry.dated(), Some(jiff::civil::date(2026, 11, 30)));
    assert_eq!(registry.copy().kind(), "refreshed");
}

#[test]
fn a_newer_copy_is_stored_as_its_changes_and_answers_like_the_full_file() {
    let mut lines = snapshot_lines();
    // A new agency, a renamed one, and a handful of retired city domains.
    lines.retain(|line| !line.starts_with("va.gov,"));
    let retired: Vec<&str> = lines
        .iter()
        .filter(|line| line.contains(",City,"))
        .take(20)
        .copied()
        .collect();
    lines.retain(|line| !retired.contains(line));
    lines.push("va.gov,Federal - Executive,\"Veterans Affairs, Department of\"");
    lines.push("newagency.gov,Federal - Executive,Office of the New Agency");
    let text = with_rows(&lines);

    let (stored, summary) = check_text(&text).expect("accepted");
    assert_eq!(summary.changed, 2);
    assert_eq!(summary.removed, 20);
    assert_eq!(summary.gone, 20);
    assert!(stored.changed.len() < 300, "{}", stored.changed);

    let refreshed = stored.registry().expect("registry");
    let full = GovRegistry::from_csv(text.as_bytes()).expect("full file");
    assert_eq!(refreshed.len(), full.len());
    assert_eq!(refreshed.len(), summary.rows);
    for (domain, row) in full.rows() {
        assert_eq!(refreshed.lookup(domain), Some((domain, row)), "{domain}");
    }
    for line in &retired {
        let domain = line.split(',').next().expect("domain");
        assert_eq!(refreshed.lookup(domain), None, "{domain} is retired");
    }
    let (_, va) = refreshed.lookup("va.gov").expect("va.gov");
    assert_eq!(va.organization, "Veterans Affairs, Department of");
    let (_, new) = refreshed.lookup("mail.newagency.gov").expect("new agency");
    assert_eq!(new.sector(), Sector::Federal);
    assert_eq!(refreshed.rows().count(), summary.rows);
}

#[test]
fn an_html_page_is_refused() {
    for page in [
        "<!DOCTYPE html><html><body>503 Service Unavailable</body></html>",
        "\u{feff}\n  <html><head><title>Sign in</title></head></html>",
    ] {
        assert_eq!(check_text(page).map(|_| ()), Err(Rejection::Html));
    }
}

#[test]
fn a_copy_missing_half_its_rows_is_refused() {
    let lines: Vec<&str> = snapshot_lines().into_iter().step_by(2).collect();
    let refused = check_text(&with_rows(&lines)).map(|_| ());
    assert!(
        matches!(refused, Err(Rejection::TooFewFederal { .. })),
        "{refused:?}"
    );
}

#[test]
fn a_copy_missing_more_than_a_few_percent_of_rows_is_refused_even_with_every_federal_row() {
    let mut dropped = 0;
    let lines: Vec<&str> = snapshot_lines()
        .into_iter()
        .filter(|line| {
            let drop = line.contains(",City,") && dropped < 1_200;
            dropped += usize::from(drop);
            !drop
        })
        .collect();
    let refused = check_text(&with_rows(&lines)).map(|_| ());
    assert!(
        matches!(refused, Err(Rejection::TooManyGone { gone: 1_200, .. })),
        "{refused:?}"
    );
}

#[test]
fn a_truncated_download_is_refused_and_a_cut_off_row_never_read() {
    let half = &SNAPSHOT[..SNAPSHOT.len() / 2];
    let refused = check_text(half).map(|_| ());
    assert!(refused.is_err(), "{refused:?}");

    // Cut inside the last row: the row is left out, not read as `Fed`.
    let mut lines = snapshot_lines();
    lines.retain(|line| !line.starts_with("va.gov,"));
    let mut text = with_rows(&lines);
    text.push_str("va.gov,Fed");
    let (stored, summary) = check_text(&text).expect("accepted: one row short");
    assert!(summary.cut_off_line);
    assert_eq!(
        stored.registry().expect("registry").lookup("va.gov"),
        None,
        "the cut-off row is not used"
    );
}

#[test]
fn columns_are_found_by_name_in_the_old_layout_and_a_missing_one_is_named() {
    let mut old = String::from("Domain Name,Domain Type,Agency,Organization,City,State\n");
    for line in snapshot_lines() {
        let mut fields = line.splitn(3, ',');
        let (domain, kind, org) = (
            fields.next().unwrap_or_default(),
            fields.next().unwrap_or_default(),
            fields.next().unwrap_or_default(),
        );
        old.push_str(&format!(
            "{},{kind},{org},{org},Springfield,VA\n",
            domain.to_uppercase()
        ));
    }
    let (stored, _) = check_text(&old).expect("old layout read by column name");
    let registry = stored.registry().expect("registry");
    let (_, va) = registry.lookup("va.gov").expect("va.gov");
    assert_eq!(va.organization, "Department of Veterans Affairs");
    assert_eq!(va.sector(), Sector::Federal);

    let no_type = "Domain name,Organization name\nva.gov,Department of Veterans Affairs\n";
    assert_eq!(
        check_text(no_type).map(|_| ()),
        Err(Rejection::Unreadable(RegistryError::MissingColumn(
            "Domain type"
        )))
    );
}

#[test]
fn an_oversized_download_is_refused_before_reading() {
    let checks = RefreshChecks {
        max_bytes: 1024,
        ..RefreshChecks::default()
    };
    let refused = check(
        SNAPSHOT.as_bytes(),
        &GovRegistry::built_in(),
        &checks,
        "test",
        at(),
    );
    assert_eq!(
        refused.map(|_| ()),
        Err(Rejection::TooLarge { limit: 1024 })
    );
}

#[test]
fn gone_rows_are_counted_against_the_copy_in_use() {
    // The copy in use already dropped 400 rows; a download that drops the
    // same 400 is not counted as losing them again.
    let lines = snapshot_lines();
    let kept: Vec<&str> = lines.iter().skip(400).copied().collect();
    let text = with_rows(&kept);
    let (stored, summary) = check_text(&text).expect("accepted");
    assert_eq!(summary.gone, 400);
    let in_use = stored.registry().expect("registry");
    let (_, again) = check(
        text.as_bytes(),
        &in_use,
        &RefreshChecks::default(),
        "test",
        at(),
    )
    .expect("accepted");
    assert_eq!(again.gone, 0);
}

proptest! {
    /// Changed rows are written as CSV the registry reader (and the `csv`
    /// crate) read back field for field.
    #[test]
    fn changed_rows_read_back_as_written(
        fields in proptest::collection::vec("[a-z0-9 ,\"\r\n.-]{0,12}", 3)
    ) {
        let mut out = String::new();
        let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        push_csv_row(&mut out, &refs);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(out.as_bytes());
        let record = reader.records().next().expect("a record").expect("valid CSV");
        let read: Vec<&str> = record.iter().collect();
        prop_assert_eq!(read, refs);
    }
}
