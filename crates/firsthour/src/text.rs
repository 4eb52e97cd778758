//! Text hygiene shared by the intake (what is stored) and the emails (what
//! is shown): one line, nothing invisible, cut on character boundaries.

use std::borrow::Cow;

/// Zero-width and direction-changing characters: they show nothing, or
/// turn the text around them (`\u{202E}lim.yvan` reads "navy.mil").
/// U+200B–U+200F, U+202A–U+202E, U+2066–U+2069 and U+FEFF, plus their
/// relatives: the Arabic letter mark U+061C, the word joiner and invisible
/// operators U+2060–U+2064.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
            | '\u{061C}'
    )
}

/// A character a zero-width joiner or non-joiner can join: neither ASCII
/// nor space nor invisible (Persian and Indic letters, emoji).
fn joinable(c: char) -> bool {
    !c.is_ascii() && !c.is_whitespace() && !c.is_control() && !is_invisible(c)
}

/// The characters of `text` without the invisible ones. A zero-width
/// non-joiner or joiner (U+200C, U+200D) stays between two joinable
/// characters, where it is spelling (Persian words, emoji sequences);
/// beside ASCII it only hides, and goes.
fn visible_chars(text: &str) -> impl Iterator<Item = char> + '_ {
    let mut chars = text.chars().peekable();
    let mut previous: Option<char> = None;
    std::iter::from_fn(move || {
        loop {
            let c = chars.next()?;
            if is_invisible(c) {
                let spelling = matches!(c, '\u{200C}' | '\u{200D}')
                    && previous.is_some_and(joinable)
                    && chars.peek().copied().is_some_and(joinable);
                if !spelling {
                    continue;
                }
            }
            previous = Some(c);
            return Some(c);
        }
    })
}

/// `text` without invisible or direction-changing characters; line breaks
/// and everything else kept (for multi-line values shown to a person).
pub fn strip_invisible(text: &str) -> Cow<'_, str> {
    if text.chars().any(is_invisible) {
        Cow::Owned(visible_chars(text).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// One line: control characters become spaces, runs of whitespace one space, invisible and direction-changing
/// characters go (see [`strip_invisible`]). Every single-line value the
/// intake stores and every one an email shows goes through this.
pub fn single_line(text: &str) -> String {
    // One pass, one allocation: the intake runs this on every short field.
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in visible_chars(text) {
        if c.is_whitespace() || c.is_control() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
    }
    out
}

/// Cuts `text` to at most `max` bytes on a character boundary.
/// Returns whether anything was cut.
pub fn truncate_utf8(text: &mut String, max: usize) -> bool {
    if text.len() <= max {
        return false;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_on_char_boundary() {
        let mut text = "aé".repeat(3); // 'é' is two bytes
        assert!(truncate_utf8(&mut text, 4));
        assert_eq!(text, "aéa");
        let mut short = String::from("ok");
        assert!(!truncate_utf8(&mut short, 10));
    }
}
