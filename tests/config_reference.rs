//! The configuration reference (docs/configuration.md) cannot drift from
//! the code: every environment variable the functions read is in its table
//! and every variable the table names is read; every section of the rules
//! file is documented somewhere in the book.

use std::collections::BTreeSet;

use firsthour_tests::root;

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|err| panic!("{path}: {err}"))
}

/// `pub const NAME: &str = "VALUE";` values in `text` that name a variable.
fn variables_in_code(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| l.trim_start().starts_with("pub const") && l.contains(": &str = \""))
        .filter_map(|l| l.split('"').nth(1))
        .filter(|v| v.starts_with("FIRSTHOUR_") || v.starts_with("AWS_APPCONFIG_"))
        .map(str::to_owned)
        .collect()
}

/// The variables the reference's tables name (first column, in backticks).
fn variables_in_table(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| l.split('|').nth(1))
        .flat_map(|cell| cell.split('`').map(str::trim).collect::<Vec<_>>())
        .filter(|v| v.starts_with("FIRSTHOUR_") || v.starts_with("AWS_APPCONFIG_"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_variable_read_is_documented_and_every_documented_one_is_read() {
    let mut code = variables_in_code(&read("crates/firsthour/src/config/mod.rs"));
    code.extend(variables_in_code(&read("crates/firsthour-aws/src/lib.rs")));
    // Secret ARNs are the template's business (it sets them to its secrets).
    code.retain(|v| !v.ends_with("_ARN"));
    assert!(code.len() > 30, "the variables were found: {code:?}");
    let documented = variables_in_table(&read("docs/configuration.md"));
    let undocumented: Vec<&String> = code.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "read by the code, missing from docs/configuration.md: {undocumented:?}"
    );
    let unknown: Vec<&String> = documented.difference(&code).collect();
    assert!(
        unknown.is_empty(),
        "in docs/configuration.md, read by no code: {unknown:?}"
    );
}

#[test]
fn every_section_of_the_rules_file_is_documented() {
    let file = read("crates/firsthour/src/config/file.rs");
    let body = file
        .split("pub struct FileConfig {")
        .nth(1)
        .and_then(|rest| rest.split("\n}").next())
        .expect("FileConfig");
    let mut sections = Vec::new();
    let mut skipped = false;
    for line in body.lines().map(str::trim) {
        if line.starts_with("#[serde(skip)]") {
            skipped = true;
        } else if let Some(field) = line.strip_prefix("pub ").and_then(|l| l.split(':').next()) {
            if !skipped {
                sections.push(field.to_owned());
            }
            skipped = false;
        }
    }
    assert!(sections.len() >= 10, "{sections:?}");
    let mut book = String::new();
    for entry in std::fs::read_dir(root().join("docs")).expect("docs") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            book.push_str(&std::fs::read_to_string(&path).expect("read"));
        }
    }
    for section in sections {
        assert!(
            book.contains(&format!("[{section}")) || book.contains(&format!("[[{section}]]")),
            "the rules file's [{section}] is documented nowhere in docs/"
        );
    }
}
