//! The README and the book in `docs/` hold together, offline: every relative
//! link and image points at a file that exists, every `#anchor` at a heading
//! of its target (by the slug mdBook and GitHub give it), every page in
//! `docs/` is in `SUMMARY.md` and every `SUMMARY.md` entry exists.
//! External links (`http:`, `https:`, `mailto:`) are counted, never fetched.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Component, Path, PathBuf};

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_path_buf()
}

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
}

/// The anchor mdBook (`normalize_id`) and GitHub give a heading: lowercase,
/// whitespace to `-`, letters, digits, `-` and `_` kept, everything else
/// dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                Some(c.to_lowercase().collect::<String>())
            } else if c.is_whitespace() {
                Some("-".to_owned())
            } else {
                None
            }
        })
        .collect()
}

/// What a Markdown file links to, and the anchors of its headings.
#[derive(Default)]
struct Page {
    /// (destination, is an image)
    links: Vec<(String, bool)>,
    anchors: BTreeSet<String>,
}

fn read_page(path: &Path) -> Page {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut page = Page::default();
    let mut heading: Option<String> = None;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for event in Parser::new_ext(&text, options()) {
        match event {
            Event::Start(Tag::Link { dest_url, .. }) => {
                page.links.push((dest_url.into_string(), false))
            }
            Event::Start(Tag::Image { dest_url, .. }) => {
                page.links.push((dest_url.into_string(), true))
            }
            Event::Start(Tag::Heading { id, .. }) => {
                if let Some(id) = id {
                    page.anchors.insert(id.into_string());
                }
                heading = Some(String::new());
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = heading.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                let base = slug(&heading.take().unwrap_or_default());
                // A repeated heading gets `-1`, `-2`… as in mdBook and on GitHub.
                let n = seen.entry(base.clone()).or_insert(0);
                let anchor = if *n == 0 {
                    base.clone()
                } else {
                    format!("{base}-{n}")
                };
                *n += 1;
                page.anchors.insert(anchor);
            }
            _ => {}
        }
    }
    page
}

fn markdown_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            markdown_under(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

/// `a/b/../c` → `a/c`, without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

fn is_external(dest: &str) -> bool {
    let scheme = dest.split_once(':').map(|(s, _)| s);
    dest.starts_with("//")
        || scheme.is_some_and(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        })
}

#[test]
fn slug_matches_mdbook_and_github_on_real_headings() {
    for (heading, want) in [
        (
            "Routing: sectors, rules, owners",
            "routing-sectors-rules-owners",
        ),
        (
            "Someone always answers: who is working, and reassignment",
            "someone-always-answers-who-is-working-and-reassignment",
        ),
        (
            "Changing rules without a redeploy (AWS AppConfig)",
            "changing-rules-without-a-redeploy-aws-appconfig",
        ),
        (
            "Operating it: firsthour leads",
            "operating-it-firsthour-leads",
        ),
        (
            "Lead item (pk = LEAD#<ulid>, sk = LEAD, entity = lead)",
            "lead-item-pk--leadulid-sk--lead-entity--lead",
        ),
        (
            "The sparse due index (due-index)",
            "the-sparse-due-index-due-index",
        ),
        ("1. CPU per lead", "1-cpu-per-lead"),
        (
            "Microsoft Forms → firsthour with Power Automate",
            "microsoft-forms--firsthour-with-power-automate",
        ),
    ] {
        assert_eq!(slug(heading), want, "{heading}");
    }
}

#[test]
fn readme_and_book_links_resolve_and_summary_lists_every_page() {
    let root = root();
    let docs = root.join("docs");
    let mut files = vec![root.join("README.md")];
    markdown_under(&docs, &mut files);

    let mut pages: BTreeMap<PathBuf, Page> = BTreeMap::new();
    for f in &files {
        pages.insert(f.clone(), read_page(f));
    }

    let (mut relative, mut anchored, mut external, mut images) = (0, 0, 0, 0);
    let mut broken = Vec::new();
    for (file, page) in &pages {
        let shown = file
            .strip_prefix(&root)
            .unwrap_or(file)
            .display()
            .to_string();
        for (dest, image) in &page.links {
            if is_external(dest) {
                external += 1;
                continue;
            }
            relative += 1;
            if *image {
                images += 1;
            }
            let (path, anchor) = match dest.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (dest.as_str(), None),
            };
            let target = if path.is_empty() {
                file.clone()
            } else {
                normalise(&file.parent().expect("a file's folder").join(path))
            };
            if !target.exists() {
                broken.push(format!("{shown}: {dest}: no file {}", target.display()));
                continue;
            }
            let Some(anchor) = anchor else { continue };
            anchored += 1;
            let anchors = match pages.get(&target) {
                Some(p) => p.anchors.clone(),
                None if target.extension().is_some_and(|e| e == "md") => read_page(&target).anchors,
                None => {
                    broken.push(format!(
                        "{shown}: {dest}: an anchor into a file that is not Markdown"
                    ));
                    continue;
                }
            };
            if !anchors.contains(anchor) {
                broken.push(format!(
                    "{shown}: {dest}: no heading with the anchor #{anchor} (it has: {})",
                    anchors.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }

    // SUMMARY.md: every entry exists (checked above, as links) and every page is an entry.
    let summary = docs.join("SUMMARY.md");
    let listed: BTreeSet<PathBuf> = pages[&summary]
        .links
        .iter()
        .filter(|(d, _)| !is_external(d))
        .map(|(d, _)| normalise(&docs.join(d.split('#').next().unwrap_or(d))))
        .collect();
    for f in files
        .iter()
        .filter(|f| f.starts_with(&docs) && **f != summary)
    {
        if !listed.contains(f) {
            broken.push(format!(
                "docs/SUMMARY.md does not list {}",
                f.strip_prefix(&docs).unwrap_or(f).display()
            ));
        }
    }

    println!(
        "docs links: {} Markdown files, {relative} relative links checked ({images} images, {anchored} with an anchor), {external} external links not fetched, {} pages in SUMMARY.md",
        pages.len(),
        listed.len()
    );
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    assert!(relative > 50, "suspiciously few links: {relative}");
}
