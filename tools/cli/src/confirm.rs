//! Asking before a write that people cannot take back.

use std::io::{BufRead, IsTerminal, Write};

/// Why nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotConfirmed {
    #[error("{0}: nothing was changed. There is no terminal to ask on: pass --yes to go ahead")]
    NoTerminal(String),
    #[error("not confirmed: nothing was changed")]
    Declined,
}

/// Asks `question` on the terminal unless `yes`; only `y` or `yes` goes
/// ahead. Without a terminal (a script, a pipe) and without `yes`, refuses:
/// a script must say what it means.
pub fn confirm(question: &str, yes: bool) -> Result<(), NotConfirmed> {
    if yes {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(NotConfirmed::NoTerminal(question.to_owned()));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if stdin.lock().read_line(&mut answer).is_err() {
        return Err(NotConfirmed::Declined);
    }
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(NotConfirmed::Declined),
    }
}
