//! Stands in for SES email receiving: an SMTP listener on 127.0.0.1 that
//! accepts mail for the stack's inbound domain and invokes the inbound
//! function with the event SES's Lambda action sends (the envelope, the
//! parsed headers, the verdicts; never the body), as SES would. A real mail
//! client (Python's `smtplib` in the tests) talks to it.
//!
//! The SMTP dialogue is the RFC 5321 subset a submission client uses:
//! EHLO/HELO, MAIL, RCPT, DATA (dot-unstuffed), RSET, NOOP, QUIT. Like SES
//! it refuses recipients outside the domain (550) and messages over the
//! size limit (552). Verdicts: the local sender is on this machine, so SPF
//! reads PASS (no DNS to check), DKIM GRAY (nothing signs local mail), the
//! scans PASS; a message may ask for others with `X-Local-Verdicts:
//! spf=FAIL, virus=FAIL` to try the function's checks.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use mail_parser::MessageParser;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::runtime_api::FunctionHost;

/// SES receiving's limit on a message, including headers.
pub const MAX_MESSAGE_BYTES: usize = 40 * 1024 * 1024;
/// RFC 5321's command line limit (text lines may be longer; 1,000 with CRLF).
const MAX_COMMAND_LINE: u64 = 2048;
const MAX_RECIPIENTS: usize = 50;

/// What the listener needs: the inbound function and the domain it receives for.
#[derive(Clone)]
pub struct Receiving {
    pub inbound: Arc<FunctionHost>,
    pub domain: String,
    pub function_arn: String,
    pub max_bytes: usize,
}

/// Accepts connections until the task is aborted.
pub async fn serve(listener: TcpListener, receiving: Receiving) {
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            continue;
        };
        let receiving = receiving.clone();
        tokio::spawn(async move {
            let (read, write) = socket.into_split();
            if let Err(err) = session(BufReader::new(read), write, &receiving).await {
                eprintln!("[smtp] connection ended: {err}");
            }
        });
    }
}

#[derive(Default)]
struct Envelope {
    from: Option<String>,
    recipients: Vec<String>,
}

/// The address inside `FROM:<…>` / `TO:<…>`, parameters after it ignored.
fn path_address(argument: &str) -> Option<String> {
    let rest = argument.trim();
    let (open, close) = (rest.find('<')?, rest.find('>')?);
    (open < close).then(|| rest[open + 1..close].trim().to_owned())
}

async fn reply<W: AsyncWrite + Unpin>(write: &mut W, text: &str) -> std::io::Result<()> {
    write.write_all(text.as_bytes()).await?;
    write.write_all(b"\r\n").await?;
    write.flush().await
}

async fn session<R, W>(
    mut read: BufReader<R>,
    mut write: W,
    receiving: &Receiving,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    reply(
        &mut write,
        "220 firsthour-local ESMTP (SES receiving stand-in)",
    )
    .await?;
    let mut envelope = Envelope::default();
    loop {
        let mut line = Vec::new();
        let n = (&mut read)
            .take(MAX_COMMAND_LINE)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            return Ok(());
        }
        if !line.ends_with(b"\n") {
            reply(&mut write, "500 5.5.2 line too long").await?;
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        let (verb, argument) = text.split_once(' ').unwrap_or((text, ""));
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                let size = format!(
                    "250-firsthour-local\r\n250-SIZE {}\r\n250 8BITMIME",
                    receiving.max_bytes
                );
                reply(&mut write, &size).await?;
            }
            "HELO" => reply(&mut write, "250 firsthour-local").await?,
            "MAIL" => match argument
                .to_ascii_uppercase()
                .starts_with("FROM:")
                .then(|| path_address(&argument[5..]))
                .flatten()
            {
                Some(from) => {
                    envelope = Envelope {
                        from: Some(from),
                        recipients: Vec::new(),
                    };
                    reply(&mut write, "250 2.1.0 OK").await?;
                }
                None => reply(&mut write, "501 5.5.4 MAIL FROM:<address>").await?,
            },
            "RCPT" => {
                let address = argument
                    .to_ascii_uppercase()
                    .starts_with("TO:")
                    .then(|| path_address(&argument[3..]))
                    .flatten();
                match address {
                    _ if envelope.from.is_none() => {
                        reply(&mut write, "503 5.5.1 MAIL first").await?
                    }
                    None => reply(&mut write, "501 5.5.4 RCPT TO:<address>").await?,
                    Some(_) if envelope.recipients.len() >= MAX_RECIPIENTS => {
                        reply(&mut write, "452 4.5.3 too many recipients").await?;
                    }
                    Some(to) if ours(&to, &receiving.domain) => {
                        envelope.recipients.push(to);
                        reply(&mut write, "250 2.1.5 OK").await?;
                    }
                    Some(_) => {
                        reply(
                            &mut write,
                            "550 5.1.1 not a recipient this stack receives for",
                        )
                        .await?;
                    }
                }
            }
            "DATA" => {
                if envelope.recipients.is_empty() {
                    reply(&mut write, "503 5.5.1 RCPT first").await?;
                    continue;
                }
                reply(&mut write, "354 End data with <CR><LF>.<CR><LF>").await?;
                match read_data(&mut read, receiving.max_bytes).await? {
                    Some(message) => {
                        let id = ulid::Ulid::new().to_string().to_ascii_lowercase();
                        let event = ses_event(&message, &envelope, receiving, &id);
                        let inbound = receiving.inbound.clone();
                        // SES's Lambda action invokes asynchronously: the sender is not kept waiting.
                        tokio::spawn(async move {
                            if let Err(err) = inbound.invoke(&event).await {
                                eprintln!("[smtp] the inbound function failed: {err}");
                            }
                        });
                        reply(&mut write, &format!("250 2.0.0 Ok: queued as {id}")).await?;
                    }
                    None => reply(&mut write, "552 5.3.4 message too big").await?,
                }
                envelope = Envelope::default();
            }
            "RSET" => {
                envelope = Envelope::default();
                reply(&mut write, "250 2.0.0 OK").await?;
            }
            "NOOP" => reply(&mut write, "250 2.0.0 OK").await?,
            "QUIT" => {
                reply(&mut write, "221 2.0.0 Bye").await?;
                return Ok(());
            }
            _ => reply(&mut write, "502 5.5.2 command not recognized").await?,
        }
    }
}

fn ours(address: &str, domain: &str) -> bool {
    address
        .rsplit_once('@')
        .is_some_and(|(_, host)| host.eq_ignore_ascii_case(domain))
}

/// The message up to the lone `.` line, dot-unstuffed; `None` when it
/// grew past `max` (read to its end all the same, so the session goes on).
async fn read_data<R: AsyncRead + Unpin>(
    read: &mut BufReader<R>,
    max: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut message = Vec::new();
    let mut too_big = false;
    loop {
        let mut line = Vec::new();
        let n = read.read_until(b'\n', &mut line).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed in DATA",
            ));
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok((!too_big).then_some(message));
        }
        let line = line.strip_prefix(b".").unwrap_or(&line);
        if message.len() + line.len() > max {
            too_big = true;
            message.clear();
        }
        if !too_big {
            message.extend_from_slice(line);
        }
    }
}

/// The verdicts a message asks for with `X-Local-Verdicts` (local only).
fn verdicts(asked: Option<&str>) -> HashMap<&'static str, String> {
    let mut verdicts: HashMap<&'static str, String> = HashMap::from([
        ("spf", "PASS".to_owned()),
        ("dkim", "GRAY".to_owned()),
        ("dmarc", "GRAY".to_owned()),
        ("spam", "PASS".to_owned()),
        ("virus", "PASS".to_owned()),
    ]);
    for part in asked.unwrap_or_default().split(',') {
        if let Some((name, status)) = part.split_once('=') {
            let name = name.trim().to_ascii_lowercase();
            if let Some(slot) = verdicts.iter_mut().find(|(k, _)| **k == name) {
                *slot.1 = status.trim().to_ascii_uppercase();
            }
        }
    }
    verdicts
}

/// The event SES's Lambda action sends for a received message, as the SES
/// Developer Guide shows it ("Sample incoming email event").
fn ses_event(message: &[u8], envelope: &Envelope, receiving: &Receiving, id: &str) -> Value {
    let started = Instant::now();
    let now = time::OffsetDateTime::now_utc();
    let stamp = firsthour::lead::format_utc_millis(now);
    let parsed = MessageParser::default().parse_headers(message);
    let raw = |name: &str| {
        parsed
            .as_ref()
            .and_then(|m| m.header_raw(name))
            .map(|v| v.trim().to_owned())
    };
    let headers: Vec<Value> = parsed
        .as_ref()
        .map(|m| {
            m.headers_raw()
                .map(|(name, value)| json!({"name": name, "value": value.trim()}))
                .collect()
        })
        .unwrap_or_default();
    let list = |name: &str| -> Vec<String> {
        raw(name)
            .map(|v| {
                v.split(',')
                    .map(|p| p.trim().to_owned())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    // A From header with a quoted comma ("Doe, John" <…>) is one address.
    let from: Vec<String> = raw("From").map(|v| vec![v]).unwrap_or_default();
    let verdicts = verdicts(raw("X-Local-Verdicts").as_deref());
    let verdict = |name: &str| json!({"status": verdicts.get(name).cloned().unwrap_or_default()});
    json!({
        "Records": [{
            "eventSource": "aws:ses",
            "eventVersion": "1.0",
            "ses": {
                "mail": {
                    "timestamp": stamp,
                    "source": envelope.from.clone().unwrap_or_default(),
                    "messageId": id,
                    "destination": envelope.recipients,
                    "headersTruncated": false,
                    "headers": headers,
                    "commonHeaders": {
                        "returnPath": envelope.from.clone().unwrap_or_default(),
                        "from": from,
                        "date": raw("Date"),
                        "to": list("To"),
                        "messageId": raw("Message-ID"),
                        "subject": parsed.as_ref().and_then(|m| m.subject()).map(str::to_owned),
                    }
                },
                "receipt": {
                    "timestamp": stamp,
                    "processingTimeMillis": started.elapsed().as_millis() as u64,
                    "recipients": envelope.recipients,
                    "spamVerdict": verdict("spam"),
                    "virusVerdict": verdict("virus"),
                    "spfVerdict": verdict("spf"),
                    "dkimVerdict": verdict("dkim"),
                    "dmarcVerdict": verdict("dmarc"),
                    "action": {
                        "type": "Lambda",
                        "functionArn": receiving.function_arn,
                        "invocationType": "Event"
                    }
                }
            }
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn data(input: &[u8], max: usize) -> Option<Vec<u8>> {
        let mut read = BufReader::new(input);
        read_data(&mut read, max).await.expect("read")
    }

    #[tokio::test]
    async fn data_ends_at_the_lone_dot_and_is_unstuffed() {
        let message = data(
            b"Subject: x\r\n\r\n..leading dot\r\nbody\r\n.\r\nQUIT\r\n",
            1024,
        )
        .await;
        assert_eq!(
            message.as_deref(),
            Some(&b"Subject: x\r\n\r\n.leading dot\r\nbody\r\n"[..])
        );
    }

    #[tokio::test]
    async fn a_message_over_the_limit_is_refused_and_read_to_its_end() {
        let big = format!("Subject: x\r\n\r\n{}\r\n.\r\n", "a".repeat(100));
        assert_eq!(data(big.as_bytes(), 64).await, None);
        // A connection that ends inside DATA is an error, not a message.
        let mut read = BufReader::new(&b"Subject: cut\r\n"[..]);
        assert!(read_data(&mut read, 1024).await.is_err());
    }

    #[test]
    fn paths_and_recipients_read_as_smtp_writes_them() {
        assert_eq!(
            path_address(" <Ann@Example.com> SIZE=42"),
            Some("Ann@Example.com".into())
        );
        assert_eq!(path_address("ann@example.com"), None);
        assert_eq!(path_address("><"), None);
        assert!(ours(
            "r+x.y@Replies.Firsthour.Test",
            "replies.firsthour.test"
        ));
        assert!(!ours("r+x.y@example.com", "replies.firsthour.test"));
        assert!(!ours("no-at-sign", "replies.firsthour.test"));
    }

    #[test]
    fn local_verdicts_pass_unless_a_message_asks_otherwise() {
        let default = verdicts(None);
        assert_eq!(default["spf"], "PASS");
        assert_eq!(default["dkim"], "GRAY");
        let asked = verdicts(Some("spf=fail, virus=FAIL, bogus=PASS"));
        assert_eq!(
            (asked["spf"].as_str(), asked["virus"].as_str()),
            ("FAIL", "FAIL")
        );
        assert!(!asked.contains_key("bogus"));
    }
}
