//! `firsthour-bench`: the measurements of `scripts/bench.sh` that need more
//! than criterion: the local intake against the bare AWS calls it makes, a
//! burst of webhooks, cold starts under a Runtime API stand-in, and the
//! escalation sweep over a growing table.
//!
//! ```text
//! firsthour-bench intake    [--rounds 300] [--burst 1000] [--concurrency 50] [--instances 4] [--bin-dir target/release] [--out FILE]
//! firsthour-bench coldstart [--runs 20] [--bin-dir target/release] [--python .venv-bench/bin/python] [--out FILE]
//! firsthour-bench sweep     [--sizes 1000,10000,100000] [--due 100] [--sweeps 5] [--load-parallel 8] [--out FILE]
//! ```
//!
//! `intake` and `sweep` need a moto server (`AWS_ENDPOINT_URL`, as
//! `scripts/with-moto.sh` sets it); `coldstart` needs nothing but the
//! release binaries. Each prints its figures and writes them as JSON to `--out`.

mod coldstart;
mod intake;
mod stats;
mod support;
mod sweep;

use std::collections::HashMap;
use std::process::ExitCode;

const USAGE: &str = "usage: firsthour-bench intake|coldstart|sweep [--option value]... (--help after one lists its options)";

/// Each command and the options it reads (a misspelt option is refused,
/// not silently measured with its default).
const COMMANDS: &[(&str, &[&str])] = &[
    (
        "intake",
        &[
            "rounds",
            "burst",
            "concurrency",
            "instances",
            "bin-dir",
            "out",
        ],
    ),
    ("coldstart", &["runs", "bin-dir", "python", "out"]),
    ("sweep", &["sizes", "due", "sweeps", "load-parallel", "out"]),
];

/// What the command line asked for.
enum Parsed {
    Run(Options),
    Help(String),
}

/// `--name value` pairs after the subcommand.
pub struct Options(HashMap<String, String>);

impl Options {
    fn parse(command: &str, args: &[String]) -> Result<Parsed, String> {
        let known = COMMANDS
            .iter()
            .find(|(name, _)| *name == command)
            .map(|(_, options)| *options)
            .ok_or_else(|| format!("unknown command {command}\n{USAGE}"))?;
        let usage = || {
            let options: Vec<String> = known.iter().map(|o| format!("[--{o} …]")).collect();
            format!("usage: firsthour-bench {command} {}", options.join(" "))
        };
        let mut map = HashMap::new();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            if flag == "--help" || flag == "-h" {
                return Ok(Parsed::Help(usage()));
            }
            let name = flag
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument {flag}\n{}", usage()))?;
            if !known.contains(&name) {
                return Err(format!("unknown option {flag}\n{}", usage()));
            }
            let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            map.insert(name.to_owned(), value.clone());
        }
        Ok(Parsed::Run(Self(map)))
    }

    pub fn text(&self, name: &str, default: &str) -> String {
        self.0
            .get(name)
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    }

    pub fn number(&self, name: &str, default: usize) -> Result<usize, String> {
        match self.0.get(name) {
            Some(v) => v
                .parse()
                .map_err(|_| format!("--{name}: {v:?} is not a number")),
            None => Ok(default),
        }
    }

    pub fn numbers(&self, name: &str, default: &[usize]) -> Result<Vec<usize>, String> {
        match self.0.get(name) {
            Some(v) => v
                .split(',')
                .map(|n| {
                    n.trim()
                        .parse()
                        .map_err(|_| format!("--{name}: {n:?} is not a number"))
                })
                .collect(),
            None => Ok(default.to_vec()),
        }
    }

    /// Writes the figures as JSON where `--out` says, if it does.
    pub fn write_out(&self, value: &serde_json::Value) -> Result<(), String> {
        if let Some(path) = self.0.get("out") {
            std::fs::write(path, value.to_string()).map_err(|err| format!("{path}: {err}"))?;
        }
        Ok(())
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let options = match Options::parse(command, rest) {
        Ok(Parsed::Run(options)) => options,
        Ok(Parsed::Help(usage)) => {
            println!("{usage}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match command.as_str() {
            "intake" => intake::run(&options).await,
            "coldstart" => coldstart::run(&options).await,
            "sweep" => sweep::run(&options).await,
            other => Err(format!("unknown command {other}\n{USAGE}")),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("firsthour-bench {command}: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn options_are_those_of_the_command() {
        let Ok(Parsed::Run(options)) =
            Options::parse("coldstart", &args(&["--runs", "40", "--bin-dir", "x"]))
        else {
            panic!("coldstart's own options parse");
        };
        assert_eq!(options.number("runs", 20), Ok(40));
        let refused = Options::parse("coldstart", &args(&["--run", "40"]));
        assert!(matches!(refused, Err(e) if e.contains("unknown option --run")));
        assert!(matches!(
            Options::parse("sweep", &args(&["--due"])),
            Err(e) if e.contains("--due needs a value")
        ));
        assert!(Options::parse("nap", &[]).is_err());
    }

    #[test]
    fn help_lists_the_options() {
        let Ok(Parsed::Help(usage)) = Options::parse("sweep", &args(&["--sizes", "1", "--help"]))
        else {
            panic!("--help is answered");
        };
        assert!(usage.contains("--load-parallel"), "{usage}");
    }
}
