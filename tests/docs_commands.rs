//! Every command the README and the book show, run as a new user pastes it.
//!
//! Each shell block (```` ```sh ````) carries a comment on the line above
//! saying what it is, and a block without one fails this test:
//!
//! - `<!-- command: stack -->` starts the system (`make run`, `make test`).
//!   The test runs the README's `make run` itself and runs the `run` blocks
//!   against it; a variant (`make run CONFIG=…`) is started, seen serving and
//!   stopped; `make test` is this very run, so it is only dry-run (`make -n`).
//! - `<!-- command: run [expect=NNN] [tty] [setup=NAME] -->` is run against
//!   that stack, page by page in the book's order (README first), each block
//!   in a fresh `bash -eo pipefail` from the project's root with the
//!   environment `make run` prints, `firsthour` on `PATH` (as the getting
//!   started page says) and the AWS CLI. It must exit 0, and every answer
//!   `curl -i` prints must have status `expect` (a 2xx without it). `tty`
//!   runs it on a terminal answering `y` to each question; `setup` puts in
//!   place what the page says the reader has (see [`setup`]).
//! - `<!-- command: shown: why -->` needs an AWS account or takes too long
//!   for a test: checked without running it (bash's syntax check, `make -n`
//!   for make targets, `--help` appended to each `firsthour` command so its
//!   arguments are parsed). Inline commands (`` `make docs` ``,
//!   `` `firsthour leads` ``) get the same check.
//!
//! Between paste and run only this changes: the documented ports (3000,
//! 5000, 2525, 4040, 8080) become free ones (a reader's own `make run` may be
//! using them); `<OutputName>` becomes that stack output's local value (from
//! `/_local/outputs`); the example lead id (`01KAQ5V3N6X5J0C9W4Y2B7D8EF`,
//! `01KAQ…`) becomes the lead the last posted command created, and the
//! example reply address that lead's own, as a reader copies them.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use firsthour_tests::{bin_dir, free_port, registry_snapshot, root};
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

const EXAMPLE_LEAD: &str = "01KAQ5V3N6X5J0C9W4Y2B7D8EF";
const EXAMPLE_LEAD_SHORT: &str = "01KAQ…";
/// The example reply address's start (the lead id, lowercased, and a dot).
const EXAMPLE_REPLY_START: &str = "r+01kaq5v3n6x5j0c9w4y2b7d8ef.";
const REPLY_DOMAIN: &str = "@replies.firsthour.test";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Stack,
    Run {
        expect: Option<u16>,
        tty: bool,
        setup: Option<String>,
        check: Option<String>,
    },
    Shown,
}

#[derive(Debug, Clone)]
struct Block {
    /// `page:line` of the fence.
    at: String,
    code: String,
    kind: Result<Kind, String>,
}

/// A page's shell blocks and inline commands (`page:line`, command).
struct Page {
    blocks: Vec<Block>,
    inline: Vec<(String, String)>,
}

/// The README, then the book's pages in `SUMMARY.md` order.
fn pages() -> Vec<PathBuf> {
    let root = root();
    let summary = fs::read_to_string(root.join("docs/SUMMARY.md")).expect("docs/SUMMARY.md");
    let mut pages = vec![root.join("README.md")];
    for event in Parser::new(&summary) {
        if let Event::Start(Tag::Link { dest_url, .. }) = event
            && dest_url.ends_with(".md")
        {
            pages.push(root.join("docs").join(dest_url.as_ref()));
        }
    }
    pages
}

fn shell(info: &str) -> bool {
    matches!(
        info.split([' ', ',']).next().unwrap_or(""),
        "sh" | "bash" | "shell" | "console" | "zsh"
    )
}

fn kind_of(marker: &str) -> Result<Kind, String> {
    let Some(rest) = marker
        .trim()
        .strip_prefix("<!-- command:")
        .and_then(|r| r.strip_suffix("-->"))
    else {
        return Err(format!(
            "no `<!-- command: run|stack|shown: why -->` on the line above (found {marker:?})"
        ));
    };
    let rest = rest.trim();
    if rest == "stack" {
        return Ok(Kind::Stack);
    }
    if let Some(why) = rest.strip_prefix("shown:") {
        return if why.trim().is_empty() {
            Err("`shown:` needs a reason".into())
        } else {
            Ok(Kind::Shown)
        };
    }
    let mut words = rest.split_whitespace();
    if words.next() != Some("run") {
        return Err(format!("unknown command kind in {marker:?}"));
    }
    let (mut expect, mut tty, mut setup, mut check) = (None, false, None, None);
    for word in words {
        match word.split_once('=') {
            Some(("expect", code)) => {
                expect = Some(code.parse().map_err(|_| format!("expect={code}?"))?)
            }
            Some(("setup", name)) => setup = Some(name.to_owned()),
            Some(("check", name)) => check = Some(name.to_owned()),
            None if word == "tty" => tty = true,
            _ => return Err(format!("unknown option {word:?} in {marker:?}")),
        }
    }
    Ok(Kind::Run {
        expect,
        tty,
        setup,
        check,
    })
}

/// Every shell block of a page, with what its marker says; and the page's
/// inline commands.
fn read_page(path: &Path) -> Page {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = path
        .strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string();
    let mut blocks = Vec::new();
    let mut inline = Vec::new();
    let mut open: Option<Block> = None;
    for (event, range) in Parser::new_ext(&text, Options::ENABLE_TABLES).into_offset_iter() {
        let line = text[..range.start].matches('\n').count() + 1;
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) if shell(&info) => {
                let above = text[..range.start]
                    .trim_end()
                    .lines()
                    .next_back()
                    .unwrap_or("");
                open = Some(Block {
                    at: format!("{name}:{line}"),
                    code: String::new(),
                    kind: kind_of(above),
                });
            }
            Event::Text(t) => {
                if let Some(block) = open.as_mut() {
                    block.code.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => blocks.extend(open.take()),
            Event::Code(code) => {
                let code = code.trim();
                if code.starts_with("make ") || code.starts_with("firsthour ") {
                    inline.push((format!("{name}:{line}"), code.to_owned()));
                }
            }
            _ => {}
        }
    }
    Page { blocks, inline }
}

fn all_blocks() -> Vec<Page> {
    pages().iter().map(|p| read_page(p)).collect()
}

/// The environment a reader's shell has: none of this test's own AWS or
/// firsthour settings, nor the make and cargo variables of the run around it.
fn reader_env(command: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("AWS_")
            || key.starts_with("FIRSTHOUR_")
            || key.starts_with("MOTO")
            || key.starts_with("MAKE")
            || key == "MFLAGS"
            || key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_MANIFEST_")
            || key.starts_with("CARGO_CRATE_")
            || key.starts_with("CARGO_BIN_")
            || key == "CARGO_PRIMARY_PACKAGE"
            || key == "CARGO_TARGET_TMPDIR"
            || key == "RUST_LOG"
        {
            command.env_remove(key.as_ref());
        }
    }
    let path = std::env::var("PATH").unwrap_or_default();
    command.env("PATH", format!("{}:{path}", bin_dir().display()))
}

/// `code` with comments dropped and continued lines joined: one command
/// line each.
fn command_lines(code: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for raw in code.lines() {
        let line = strip_comment(raw);
        if let Some(start) = line.trim_end().strip_suffix('\\') {
            current.push_str(start);
            current.push(' ');
            continue;
        }
        current.push_str(&line);
        if !current.trim().is_empty() {
            lines.push(current.trim().to_owned());
        }
        current.clear();
    }
    lines
}

/// A line without its `# comment` (a `#` outside quotes after a space).
fn strip_comment(line: &str) -> String {
    let (mut single, mut double) = (false, false);
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && previous.is_whitespace() => {
                return line[..i].to_owned();
            }
            _ => {}
        }
        previous = c;
    }
    line.to_owned()
}

/// Checks a command that is shown, not run: its make target exists, its
/// `firsthour` arguments parse.
fn check_shown(at: &str, line: &str, failures: &mut Vec<String>) {
    for command in line.split("&&").flat_map(|c| c.split(';')) {
        let command = command.trim();
        let words: Vec<&str> = command.split_whitespace().collect();
        let Some(first) = words.first() else { continue };
        if *first == "make" {
            let mut dry = Command::new("make");
            dry.arg("-n").args(&words[1..]);
            must_succeed(dry, at, &format!("`{command}`: make -n fails"), failures);
            continue;
        }
        let binary = first.rsplit('/').next().unwrap_or(first);
        let ours = matches!(binary, "firsthour" | "firsthour-bench" | "firsthour-local");
        if !ours || !(first == &binary || first.contains("target/")) {
            continue;
        }
        // The arguments as written, placeholders filled with a word, then
        // `--help`: clap refuses an unknown subcommand or flag before it.
        let args = command[first.len()..].trim();
        let args = fill_placeholders(args, &|_| Some("x".to_owned())).unwrap_or_default();
        let mut check = Command::new("bash");
        check.arg("-c").arg(format!("{binary} {args} --help"));
        must_succeed(check, at, &format!("`{command}` does not parse"), failures);
    }
}

/// Runs `command` from the project's root as a reader would; a failure is
/// noted with what it said.
fn must_succeed(mut command: Command, at: &str, what: &str, failures: &mut Vec<String>) {
    command.current_dir(root());
    match reader_env(&mut command).output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => failures.push(format!(
            "{at}: {what}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => failures.push(format!("{at}: {what}: {e}")),
    }
}

/// `<Name>` placeholders replaced by `value(Name)`; a name without a value
/// is an error naming it.
fn fill_placeholders(text: &str, value: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find('>');
        let name = end.map(|e| &after[..e]);
        match name {
            Some(name) if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()) => {
                out.push_str(&value(name).ok_or_else(|| format!("no value for <{name}>"))?);
                rest = &after[name.len() + 1..];
            }
            _ => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[test]
fn every_shell_block_says_what_it_is_and_shown_commands_parse() {
    let mut failures = Vec::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for Page { blocks, inline } in all_blocks() {
        for block in &blocks {
            match &block.kind {
                Err(why) => failures.push(format!("{}: {why}", block.at)),
                Ok(kind) => {
                    *counts
                        .entry(match kind {
                            Kind::Stack => "stack",
                            Kind::Run { .. } => "run",
                            Kind::Shown => "shown",
                        })
                        .or_default() += 1;
                    let syntax = Command::new("bash")
                        .arg("-n")
                        .stdin(Stdio::piped())
                        .stdout(Stdio::null())
                        .stderr(Stdio::piped())
                        .spawn()
                        .and_then(|mut child| {
                            // A placeholder is the reader's to fill, not a redirect.
                            let code = fill_placeholders(&block.code, &|_| Some("x".to_owned()))
                                .unwrap_or_default();
                            child
                                .stdin
                                .take()
                                .map(|mut stdin| stdin.write_all(code.as_bytes()))
                                .transpose()?;
                            child.wait_with_output()
                        });
                    match syntax {
                        Ok(out) if out.status.success() => {}
                        Ok(out) => failures.push(format!(
                            "{}: not valid bash: {}",
                            block.at,
                            String::from_utf8_lossy(&out.stderr).trim()
                        )),
                        Err(e) => failures.push(format!("{}: bash: {e}", block.at)),
                    }
                    if *kind == Kind::Shown {
                        for line in command_lines(&block.code) {
                            check_shown(&block.at, &line, &mut failures);
                        }
                    }
                }
            }
        }
        for (at, code) in inline {
            // Only the command's words: `firsthour reps list [--team T]`
            // shows a synopsis, not a command to paste.
            let words: Vec<&str> = code
                .split_whitespace()
                .take_while(|w| {
                    !w.starts_with('[') && !w.chars().any(|c| c.is_ascii_uppercase())
                        || w.contains('=')
                })
                .collect();
            check_shown(&at, &words.join(" "), &mut failures);
        }
    }
    println!("shell blocks: {counts:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        counts.get("run").copied().unwrap_or(0) >= 10,
        "the run blocks were not found: {counts:?}"
    );
}

/// A process group started by the test, stopped when dropped.
struct Group {
    child: Child,
    log: PathBuf,
}

impl Group {
    fn stop(&mut self) {
        let pid = self.child.id();
        let _ = Command::new("kill")
            .args(["-s", "TERM", "--", &format!("-{pid}")])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{pid}")])
            .status();
        let _ = self.child.wait();
    }

    fn log_tail(&self) -> String {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.stop();
    }
}

#[derive(Debug, Clone, Copy)]
struct Ports {
    intake: u16,
    moto: u16,
    site: u16,
    smtp: u16,
    stand_ins: u16,
}

impl Ports {
    fn free() -> Self {
        Self {
            intake: free_port(),
            moto: free_port(),
            site: free_port(),
            smtp: free_port(),
            stand_ins: free_port(),
        }
    }

    fn make_vars(&self) -> Vec<String> {
        vec![
            format!("PORT={}", self.intake),
            format!("MOTO_PORT={}", self.moto),
            format!("SITE_PORT={}", self.site),
            format!("SMTP_PORT={}", self.smtp),
            format!("STAND_INS_PORT={}", self.stand_ins),
        ]
    }

    /// The documented addresses, and this run's.
    fn substitutions(&self) -> Vec<(String, String)> {
        [
            ("127.0.0.1:3000", self.intake),
            ("127.0.0.1:5000", self.moto),
            ("127.0.0.1:4040", self.stand_ins),
            ("127.0.0.1:8080", self.site),
        ]
        .into_iter()
        .map(|(from, port)| (from.to_owned(), format!("127.0.0.1:{port}")))
        .chain([(
            "\"127.0.0.1\", 2525".to_owned(),
            format!("\"127.0.0.1\", {}", self.smtp),
        )])
        .collect()
    }
}

/// `make run` with the words a page gives (`CONFIG=…`) and this run's ports;
/// returns once its outputs are served, with the banner it printed.
fn start_make_run(words: &[&str], ports: Ports, scratch: &Path) -> (Group, String) {
    let log = scratch.join(format!("make-run-{}.log", ports.intake));
    let out = fs::File::create(&log).expect("log file");
    let err = out.try_clone().expect("log file");
    let mut make = Command::new("make");
    make.args(words)
        .args(ports.make_vars())
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    let child = reader_env(&mut make).spawn().expect("make runs");
    let mut group = Group { child, log };
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        if let Ok(Some(status)) = group.child.try_wait() {
            panic!(
                "`make {}` stopped ({status}):\n{}",
                words.join(" "),
                group.log_tail()
            );
        }
        // Serving, and done saying so: the banner (with the environment to
        // use) is printed once everything has started.
        let banner = fs::read_to_string(&group.log).unwrap_or_default();
        if banner.contains("Ctrl-C stops everything")
            && get(ports.intake, "/_local/outputs").is_some()
        {
            return (group, banner);
        }
        if Instant::now() > deadline {
            let tail = group.log_tail();
            group.stop();
            panic!(
                "`make {}` did not serve within 240 s:\n{tail}",
                words.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn get(port: u16, path: &str) -> Option<String> {
    let out = Command::new("curl")
        .args(["-sf", "--max-time", "10"])
        .arg(format!("http://127.0.0.1:{port}{path}"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The `export …` line `make run` prints, as (name, value) pairs.
fn banner_env(banner: &str) -> Vec<(String, String)> {
    let line = banner
        .lines()
        .find_map(|l| l.trim().strip_prefix("export AWS_ENDPOINT_URL="))
        .map(|rest| format!("AWS_ENDPOINT_URL={rest}"))
        .expect("make run prints the environment to use");
    line.split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The AWS CLI the commands run with. Readers have v2, which honours
/// `AWS_ENDPOINT_URL` for every service; PyPI has only v1, which ignores it
/// for SQS (it forces `queue.amazonaws.com` unless `--endpoint-url` is
/// given), so this `aws` passes it as `--endpoint-url`, as v2 would use it.
fn aws_shim(scratch: &Path) -> PathBuf {
    let aws = root().join(".venv-awscli/bin/aws");
    assert!(
        aws.exists(),
        "{} is missing: `make awscli-venv` installs it (make test does)",
        aws.display()
    );
    let dir = scratch.join("bin");
    fs::create_dir_all(&dir).expect("shim dir");
    let shim = dir.join("aws");
    fs::write(
        &shim,
        format!(
            "#!/bin/sh\nif [ -n \"$AWS_ENDPOINT_URL\" ]; then exec '{aws}' --endpoint-url \"$AWS_ENDPOINT_URL\" \"$@\"; fi\nexec '{aws}' \"$@\"\n",
            aws = aws.display()
        ),
    )
    .expect("shim written");
    let mut permissions = fs::metadata(&shim).expect("shim").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    fs::set_permissions(&shim, permissions).expect("shim executable");
    dir
}

/// Runs a bash script as a reader's terminal would, with `env`.
fn run_script(script: &str, env: &[(String, String)], tty: bool, scratch: &Path) -> (bool, String) {
    let file = scratch.join(format!("block-{}.sh", ulid::Ulid::new()));
    fs::write(&file, format!("set -eo pipefail\n{script}")).expect("script written");
    let mut command = if tty {
        // A terminal (util-linux `script`) that answers each question `y`.
        // `timeout` stays outside it: inside, it would put the block in a
        // process group of its own, in the terminal's background, and the
        // first question would stop it (SIGTTIN) unless `script`'s `$SHELL`
        // happened to exec it (bash does, dash does not).
        let mut c = Command::new("timeout");
        c.args(["180", "script", "-qec"])
            .arg(format!("bash {}", file.display()))
            .arg("/dev/null");
        c
    } else {
        let mut c = Command::new("timeout");
        c.arg("180").arg("bash").arg(&file);
        c
    };
    command
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    reader_env(&mut command).envs(env.iter().map(|(k, v)| (k, v)));
    let path = std::env::var("PATH").unwrap_or_default();
    command.env(
        "PATH",
        format!(
            "{}:{}:{path}",
            aws_shim(scratch).display(),
            bin_dir().display()
        ),
    );
    let mut child = command.spawn().expect("bash runs");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(if tty { b"y\ny\ny\ny\n" } else { b"" });
    }
    let out = child.wait_with_output().expect("bash finishes");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The last lead id an output shows (`"lead_id":"…"`).
fn lead_id_in(output: &str) -> Option<String> {
    output
        .rmatch_indices("\"lead_id\":\"")
        .next()
        .and_then(|(i, m)| output.get(i + m.len()..i + m.len() + 26))
        .filter(|id| id.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(str::to_owned)
}

/// The HTTP statuses `curl -i` printed.
fn http_statuses(output: &str) -> Vec<u16> {
    output
        .lines()
        .filter(|l| l.starts_with("HTTP/"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
        .collect()
}

/// The tracked-reply address (the Bcc of its "Reply to" button) of the
/// email a lead's notification sent to `to`, from the sent-mail view, where
/// the button's `mailto:` link carries it percent-encoded.
fn reply_address(port: u16, lead: &str, to: &str) -> Option<String> {
    // The router sends it a moment after the lead is taken, as a reader
    // finds it a moment later.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = reply_address_now(port, lead, to);
        if found.is_some() || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Whether the sent-mail view shows an email about `lead` (with its reply
/// button), waiting up to 30 s.
fn notified(port: u16, lead: &str) -> bool {
    let marker = format!("r%2B{}.", lead.to_ascii_lowercase());
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if get(port, &format!("/_local/mail?lead={lead}"))
            .is_some_and(|page| page.contains(&marker))
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    false
}

fn reply_address_now(port: u16, lead: &str, to: &str) -> Option<String> {
    let page = get(port, &format!("/_local/mail?lead={lead}&to={to}"))?;
    let start = format!("r%2B{}.", lead.to_ascii_lowercase());
    let rest = &page[page.find(&start)? + start.len()..];
    let token: String = rest
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let after = &rest[token.len()..];
    (!token.is_empty() && (after.starts_with(REPLY_DOMAIN) || after.starts_with("%40")))
        .then(|| format!("r+{}.{token}{REPLY_DOMAIN}", lead.to_ascii_lowercase()))
}

/// The first address in quotes in `code` (the reply's sender).
fn first_quoted_address(code: &str) -> Option<&str> {
    code.split('"')
        .find(|part| part.contains('@') && !part.contains(' ') && !part.contains(REPLY_DOMAIN))
}

/// What a page says the reader has before a block, put in place.
/// - `registry-csv`: get.gov's `current-full.csv`, downloaded (here the
///   project's snapshot of it).
/// - `router-failure`: a router invocation that failed every retry, in the
///   router failure queue as Lambda's on-failure destination records it.
fn setup(
    name: &str,
    lead: &str,
    outputs: &BTreeMap<String, String>,
    env: &[(String, String)],
    scratch: &Path,
) -> Result<Vec<PathBuf>, String> {
    match name {
        "registry-csv" => {
            let file = root().join("current-full.csv");
            fs::copy(registry_snapshot(), &file)
                .map_err(|e| format!("the registry snapshot: {e}"))?;
            Ok(vec![file])
        }
        "router-failure" => {
            let mut event: serde_json::Value = serde_json::from_str(
                &fs::read_to_string(root().join("events/lambda/lead-received-federal.json"))
                    .expect("the example event"),
            )
            .expect("the example event is JSON");
            event["detail"]["lead_id"] = lead.into();
            let record = serde_json::json!({
                "version": "1.0",
                "timestamp": "2026-11-22T14:25:13.000Z",
                "requestContext": {
                    "requestId": "c6cbe6f3-5b2a-4c3e-9d8f-0a1b2c3d4e5f",
                    "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:firsthour-FederalRouterFunction:$LATEST",
                    "condition": "RetriesExhausted",
                    "approximateInvokeCount": 3
                },
                "requestPayload": event,
                "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
                "responsePayload": {"errorType": "Throttling", "errorMessage": "Maximum sending rate exceeded."}
            });
            let body = scratch.join("router-failure.json");
            fs::write(&body, record.to_string()).expect("record written");
            let queue = outputs
                .get("RouterFailureQueueUrl")
                .ok_or("no RouterFailureQueueUrl output")?;
            let (ok, out) = run_script(
                &format!(
                    "aws sqs send-message --queue-url '{queue}' --message-body file://{}",
                    body.display()
                ),
                env,
                false,
                scratch,
            );
            if !ok {
                return Err(format!("setup router-failure: {out}"));
            }
            Ok(Vec::new())
        }
        other => Err(format!("unknown setup {other:?}")),
    }
}

/// What a block did, seen through the stack.
/// - `reply-recorded`: the example lead has the reply by email from the
///   block's sender as a touch (`firsthour leads show --json`).
fn check(
    name: &str,
    lead: &str,
    sender: &str,
    env: &[(String, String)],
    scratch: &Path,
) -> Result<(), String> {
    match name {
        "reply-recorded" => {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let (ok, out) = run_script(
                    &format!("firsthour leads show {lead} --json"),
                    env,
                    false,
                    scratch,
                );
                // The JSON on stdout, then whatever stderr said.
                let shown: serde_json::Value = out
                    .find('{')
                    .and_then(|at| {
                        serde_json::Deserializer::from_str(&out[at..])
                            .into_iter()
                            .next()?
                            .ok()
                    })
                    .unwrap_or_default();
                let replied = shown["touch_history"].as_array().is_some_and(|touches| {
                    touches
                        .iter()
                        .any(|t| t["channel"] == "email" && t["by"] == sender)
                });
                if ok && replied {
                    return Ok(());
                }
                if Instant::now() > deadline {
                    return Err(format!(
                        "no reply by {sender} recorded on lead {lead} within 30 s:\n{out}"
                    ));
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        }
        other => Err(format!("unknown check {other:?}")),
    }
}

#[test]
fn every_run_block_works_against_make_run() {
    let scratch = std::env::temp_dir().join(format!("firsthour-docs-{}", ulid::Ulid::new()));
    fs::create_dir_all(&scratch).expect("scratch dir");
    let before: BTreeSet<_> = fs::read_dir(root())
        .expect("the project's root")
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    let pages = all_blocks();

    let ports = Ports::free();
    let (stack, banner) = start_make_run(&["run"], ports, &scratch);
    let env = banner_env(&banner);
    let outputs: BTreeMap<String, String> = serde_json::from_str::<Vec<serde_json::Value>>(
        &get(ports.intake, "/_local/outputs").expect("outputs"),
    )
    .expect("outputs are JSON")
    .into_iter()
    .filter_map(|o| {
        Some((
            o["OutputKey"].as_str()?.to_owned(),
            o["OutputValue"].as_str()?.to_owned(),
        ))
    })
    .collect();

    let mut failures = Vec::new();
    let mut lead: Option<String> = None;
    let mut ran = 0;
    for Page { blocks, .. } in &pages {
        for block in blocks {
            let Ok(kind) = &block.kind else { continue };
            match kind {
                Kind::Shown => {}
                Kind::Stack => {
                    for line in command_lines(&block.code) {
                        let words: Vec<&str> = line.split_whitespace().collect();
                        match words.as_slice() {
                            ["make", "run"] => {} // the stack running now
                            ["make", "run", ..] => {
                                let (mut variant, _) =
                                    start_make_run(&words[1..], Ports::free(), &scratch);
                                variant.stop();
                            }
                            ["make", ..] => check_shown(&block.at, &line, &mut failures),
                            _ => failures.push(format!("{}: not a make command: {line}", block.at)),
                        }
                    }
                }
                Kind::Run {
                    expect,
                    tty,
                    setup: needs,
                    check: then,
                } => {
                    let mut script = String::new();
                    for raw in block.code.lines() {
                        // `make run   # terminal 1`: the stack running now.
                        if raw.trim_start().starts_with("make run") {
                            continue;
                        }
                        script.push_str(raw);
                        script.push('\n');
                    }
                    for (from, to) in ports.substitutions() {
                        script = script.replace(&from, &to);
                    }
                    if script.contains(EXAMPLE_LEAD_SHORT)
                        || script.contains(EXAMPLE_LEAD)
                        || script.contains(EXAMPLE_REPLY_START)
                    {
                        let Some(id) = lead.as_deref() else {
                            failures.push(format!(
                                "{}: uses the example lead before any lead was posted",
                                block.at
                            ));
                            continue;
                        };
                        script = script
                            .replace(EXAMPLE_LEAD, id)
                            .replace(EXAMPLE_LEAD_SHORT, id);
                        if let Some(start) = script.find(EXAMPLE_REPLY_START) {
                            let end = script[start..]
                                .find(REPLY_DOMAIN)
                                .map_or(script.len(), |e| start + e + REPLY_DOMAIN.len());
                            let sender = first_quoted_address(&script).unwrap_or_default();
                            match reply_address(ports.intake, id, sender) {
                                Some(reply) => script.replace_range(start..end, &reply),
                                None => {
                                    failures.push(format!(
                                        "{}: no reply address in the email {sender} got for lead {id}",
                                        block.at
                                    ));
                                    continue;
                                }
                            }
                        }
                    }
                    let script =
                        match fill_placeholders(&script, &|name| outputs.get(name).cloned()) {
                            Ok(script) => script,
                            Err(e) => {
                                failures.push(format!(
                                    "{}: {e} (the outputs are {:?})",
                                    block.at,
                                    outputs.keys()
                                ));
                                continue;
                            }
                        };
                    let made = needs
                        .as_deref()
                        .map(|name| {
                            setup(
                                name,
                                lead.as_deref().unwrap_or(EXAMPLE_LEAD),
                                &outputs,
                                &env,
                                &scratch,
                            )
                        })
                        .transpose();
                    let made = match made {
                        Ok(made) => made.unwrap_or_default(),
                        Err(e) => {
                            failures.push(format!("{}: {e}", block.at));
                            continue;
                        }
                    };
                    let (ok, output) = run_script(&script, &env, *tty, &scratch);
                    for file in made {
                        let _ = fs::remove_file(file);
                    }
                    ran += 1;
                    let statuses = http_statuses(&output);
                    let wrong: Vec<u16> = statuses
                        .iter()
                        .copied()
                        .filter(|s| expect.map_or(!(200..300).contains(s), |e| *s != e))
                        .collect();
                    let good = ok && wrong.is_empty() && (expect.is_none() || !statuses.is_empty());
                    println!("{} {}", if good { "ok    " } else { "FAILED" }, block.at);
                    if !good {
                        println!("{output}");
                        failures.push(format!(
                            "{}: {} (statuses {statuses:?}, expected {expect:?}):\n--- ran\n{script}--- printed\n{output}",
                            block.at,
                            if ok { "wrong answer" } else { "failed" },
                        ));
                    }
                    if let (true, Some(name)) = (good, then) {
                        let sender = first_quoted_address(&script).unwrap_or_default();
                        if let Err(e) = check(
                            name,
                            lead.as_deref().unwrap_or_default(),
                            sender,
                            &env,
                            &scratch,
                        ) {
                            failures.push(format!("{}: {e}", block.at));
                        }
                    }
                    // The environment the page exports is the one make run prints.
                    for line in script
                        .lines()
                        .filter(|l| l.starts_with("export AWS_ENDPOINT_URL="))
                    {
                        let exported: Vec<(String, String)> = line["export ".len()..]
                            .split_whitespace()
                            .filter_map(|pair| pair.split_once('='))
                            .map(|(k, v)| (k.to_owned(), v.to_owned()))
                            .collect();
                        if exported != env {
                            failures.push(format!(
                                "{}: exports {exported:?}, make run prints {env:?}",
                                block.at
                            ));
                        }
                    }
                    if let Some(id) = lead_id_in(&output) {
                        // A reader reads the page before the next command:
                        // by then the lead's email is out.
                        if lead.as_deref() != Some(id.as_str()) && !notified(ports.intake, &id) {
                            failures.push(format!(
                                "{}: lead {id} was not emailed within 30 s",
                                block.at
                            ));
                        }
                        lead = Some(id);
                    }
                }
            }
        }
    }
    drop(stack);
    // What the commands wrote (report.png, entry.json…) goes.
    for entry in fs::read_dir(root()).expect("the project's root").flatten() {
        if !before.contains(&entry.file_name()) && entry.path().is_file() {
            let _ = fs::remove_file(entry.path());
        }
    }
    let _ = fs::remove_dir_all(&scratch);
    println!("ran {ran} blocks against make run");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
