//! `multipart/form-data` (RFC 7578 over RFC 2046) for a body that is whole in
//! memory, as API Gateway and Lambda URLs deliver it.
//!
//! `multer` parses streams: it rebuilds a substring searcher at every search
//! and copies each part through a buffer, which made it two thirds of the CPU
//! a multipart lead took. Here one searcher is built per body, parts are
//! slices of it, part headers go through `httparse` (what `multer` and hyper
//! use), and `Content-Disposition` is read as `multer` reads it: quoted values
//! with `\"` escapes, or bare tokens. A property test holds it to `multer`.

use std::borrow::Cow;

/// One part: its `Content-Disposition` name and file name, `Content-Type`,
/// and content (a slice of the body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    pub name: Option<Cow<'a, str>>,
    pub file_name: Option<Cow<'a, str>>,
    pub content_type: Option<&'a str>,
    pub content: &'a [u8],
}

/// Why a body is not multipart: said to the sender in the 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    #[error("the boundary is empty")]
    EmptyBoundary,
    #[error("the body does not start with its boundary")]
    NoBoundary,
    #[error("part {0} ends before the next boundary")]
    Unterminated(usize),
    #[error("part {0} has unreadable headers")]
    Headers(usize),
}

/// Headers a form part may carry; browsers send one or two.
const MAX_PART_HEADERS: usize = 16;

/// The parts of `body`, in order.
pub fn parts<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>, MultipartError> {
    if boundary.is_empty() {
        return Err(MultipartError::EmptyBoundary);
    }
    // Every delimiter after the first is CRLF "--" boundary; the first may
    // open the body, or follow a preamble.
    let delimiter = format!("\r\n--{boundary}");
    let finder = memchr::memmem::Finder::new(delimiter.as_bytes());
    let first = &delimiter.as_bytes()[2..];
    let mut at = if body.starts_with(first) {
        first.len()
    } else {
        finder
            .find(body)
            .map(|i| i + delimiter.len())
            .ok_or(MultipartError::NoBoundary)?
    };
    let mut parts = Vec::new();
    loop {
        let rest = body.get(at..).unwrap_or_default();
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        // Transport padding, then the line break that ends the delimiter.
        let padding = rest
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        let start = at
            + padding
            + match rest.get(padding..) {
                Some([b'\r', b'\n', ..]) => 2,
                Some([b'\n', ..]) => 1,
                _ => return Err(MultipartError::Unterminated(parts.len() + 1)),
            };
        let part = body.get(start..).unwrap_or_default();
        let end = finder
            .find(part)
            .ok_or(MultipartError::Unterminated(parts.len() + 1))?;
        let part = part.get(..end).unwrap_or_default();
        parts.push(read_part(part, parts.len() + 1)?);
        at = start + end + delimiter.len();
    }
}

fn read_part(part: &[u8], number: usize) -> Result<Part<'_>, MultipartError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_PART_HEADERS];
    let (header_len, headers) = match httparse::parse_headers(part, &mut headers) {
        Ok(httparse::Status::Complete((len, headers))) => (len, headers),
        _ => return Err(MultipartError::Headers(number)),
    };
    let mut read = Part {
        name: None,
        file_name: None,
        content_type: None,
        content: part.get(header_len..).unwrap_or_default(),
    };
    for header in headers.iter() {
        if header.name.eq_ignore_ascii_case("content-disposition") {
            read.name = disposition_param(header.value, b"name");
            read.file_name = disposition_param(header.value, b"filename");
        } else if header.name.eq_ignore_ascii_case("content-type") {
            read.content_type = std::str::from_utf8(header.value).ok();
        }
    }
    Ok(read)
}

/// A `Content-Disposition` parameter (`name="email"`): quoted, with `\"`
/// standing for a quote, or a bare token up to `;` or a space. `None` when
/// absent or not UTF-8.
fn disposition_param<'h>(mut header: &'h [u8], key: &[u8]) -> Option<Cow<'h, str>> {
    while let Some(i) = memchr::memmem::find(header, key) {
        let after = header.get(i + key.len()..).unwrap_or_default();
        // `name` inside `filename` is not `name`.
        let starts_param =
            i == 0 || matches!(header.get(i - 1), Some(b) if b.is_ascii_whitespace() || *b == b';');
        let Some(value) = starts_param.then(|| after_equals(after)).flatten() else {
            header = after;
            continue;
        };
        let (bytes, escaped) = match value.strip_prefix(b"\"") {
            Some(quoted) => {
                let mut end = memchr::memchr(b'"', quoted)?;
                let mut escaped = false;
                while end > 0 && quoted.get(end - 1) == Some(&b'\\') {
                    escaped = true;
                    end += 1 + memchr::memchr(b'"', quoted.get(end + 1..)?)?;
                }
                (quoted.get(..end)?, escaped)
            }
            None => {
                let end = memchr::memchr2(b';', b' ', value).unwrap_or(value.len());
                (value.get(..end)?, false)
            }
        };
        let text = std::str::from_utf8(bytes).ok()?;
        return Some(if escaped {
            Cow::Owned(text.replace("\\\"", "\""))
        } else {
            Cow::Borrowed(text)
        });
    }
    None
}

/// What follows `=` (spaces around it allowed), if `=` comes next.
fn after_equals(rest: &[u8]) -> Option<&[u8]> {
    let rest = rest.trim_ascii_start().strip_prefix(b"=")?;
    Some(rest.trim_ascii_start())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What multer reads from the same body: (name, file name, content type, content).
    type Read = (Option<String>, Option<String>, Option<String>, Vec<u8>);

    fn reference(body: &[u8], boundary: &str) -> Result<Vec<Read>, String> {
        let stream = futures::stream::once(futures::future::ready(
            Ok::<_, std::convert::Infallible>(bytes::Bytes::copy_from_slice(body)),
        ));
        let mut multipart = multer::Multipart::new(stream, boundary);
        futures::executor::block_on(async {
            let mut out = Vec::new();
            while let Some(field) = multipart.next_field().await.map_err(|e| e.to_string())? {
                let name = field.name().map(str::to_owned);
                let file_name = field.file_name().map(str::to_owned);
                let content_type = field.content_type().map(|m| m.to_string());
                let content = field.bytes().await.map_err(|e| e.to_string())?.to_vec();
                out.push((name, file_name, content_type, content));
            }
            Ok(out)
        })
    }

    fn ours(body: &[u8], boundary: &str) -> Result<Vec<Read>, MultipartError> {
        Ok(parts(body, boundary)?
            .into_iter()
            .map(|p| {
                (
                    p.name.map(Cow::into_owned),
                    p.file_name.map(Cow::into_owned),
                    p.content_type.map(str::to_owned),
                    p.content.to_vec(),
                )
            })
            .collect())
    }

    #[test]
    fn browser_body_with_a_file_and_escapes() {
        let body = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\njane@example.com\r\n\
--XyZ  \r\ncontent-disposition: form-data; name=\"cv\"; filename=\"my \\\"cv\\\".pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n-XyZ\r\n\
--XyZ\r\nContent-Disposition: form-data; filename=\"x\"; name=bare\r\n\r\n\r\n--XyZ--\r\nepilogue";
        let read = ours(body, "XyZ").expect("parses");
        assert_eq!(read, reference(body, "XyZ").expect("multer parses"));
        assert_eq!(read.len(), 3);
        assert_eq!(read[1].1.as_deref(), Some("my \"cv\".pdf"));
        // A line that only looks like the boundary is content.
        assert_eq!(read[1].3, b"%PDF\r\n-XyZ");
        assert_eq!(read[2].0.as_deref(), Some("bare"));
        assert_eq!(read[2].3, b"");
    }

    #[test]
    fn broken_bodies_are_errors() {
        for (body, boundary) in [
            (&b"no boundary here"[..], "b"),
            (
                b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nnever closed",
                "b",
            ),
            (b"--b\r\nno colon in this header\r\n\r\nx\r\n--b--", "b"),
            (b"--bx", "b"),
            (b"", "b"),
            (b"--b--", ""),
        ] {
            assert!(
                ours(body, boundary).is_err(),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        // No parts at all is not an error here (the intake refuses it).
        assert_eq!(ours(b"--b--\r\n", "b"), Ok(Vec::new()));
    }

    fn value() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                Just(b'\r'),
                Just(b'\n'),
                Just(b'-'),
                Just(b'"'),
                Just(b'b'),
                any::<u8>()
            ],
            0..24,
        )
    }

    proptest! {
        #[test]
        fn reads_as_multer_does(
            fields in proptest::collection::vec(("[a-z_\\[\\] ]{1,8}", proptest::option::of("[a-z. ]{0,8}"), value()), 0..6),
            preamble in "[a-z\r\n]{0,8}",
            boundary in "[A-Za-z0-9'()+_,./:=?-]{1,30}",
        ) {
            let mut body = preamble.into_bytes();
            if !body.is_empty() { body.extend_from_slice(b"\r\n"); }
            for (name, file, content) in &fields {
                body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes());
                if let Some(file) = file {
                    body.extend_from_slice(format!("; filename=\"{file}\"\r\nContent-Type: text/plain").as_bytes());
                }
                body.extend_from_slice(b"\r\n\r\n");
                body.extend_from_slice(content);
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
            // Content that happens to hold the delimiter is not a valid body
            // (the sender picks a boundary that does not occur).
            let delimiter = format!("\r\n--{boundary}");
            let collides = fields.iter().any(|(_, _, c)| {
                let mut framed = b"\r\n".to_vec();
                framed.extend_from_slice(c);
                framed.extend_from_slice(b"\r\n");
                framed.windows(delimiter.len()).any(|w| w == delimiter.as_bytes())
                    || c.starts_with(&delimiter.as_bytes()[2..])
            });
            prop_assume!(!collides);
            let expected = reference(&body, &boundary).expect("multer parses a body we framed");
            prop_assert_eq!(ours(&body, &boundary).expect("parses"), expected);
        }

        #[test]
        fn any_bytes_never_panic(
            body in proptest::collection::vec(
                prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'-'), Just(b'"'), Just(b'b'), Just(b';'), Just(b'='), Just(b':'), any::<u8>()],
                0..128),
        ) {
            let _ = parts(&body, "b");
        }
    }
}
