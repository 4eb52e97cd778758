//! SES v2 mailer.

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use crate::{describe, is_transient};
use firsthour::notify::{OutgoingEmail, encode_subject};
use firsthour::ports::{MailError, Mailer};

#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    configuration_set: Option<String>,
}

impl SesMailer {
    pub fn new(client: Client, configuration_set: Option<String>) -> Self {
        Self {
            client,
            configuration_set,
        }
    }
}

fn utf8(data: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|err| MailError::Rejected(err.to_string()))
}

/// The subject as SES's simple content documents it: 7-bit ASCII, anything
/// else as RFC 2047 encoded-words (see [`encode_subject`]), so no charset:
/// SES sends it as it is, and nothing in it is decoded that the lead typed.
fn ascii_subject(subject: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(encode_subject(subject))
        .build()
        .map_err(|err| MailError::Rejected(err.to_string()))
}

impl Mailer for SesMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        let message = Message::builder()
            .subject(ascii_subject(&email.subject)?)
            .body(
                Body::builder()
                    .text(utf8(&email.text)?)
                    .html(utf8(&email.html)?)
                    .build(),
            )
            .build();
        let result = self
            .client
            .send_email()
            .from_email_address(&email.from)
            .destination(
                Destination::builder()
                    .set_to_addresses(Some(email.to.clone()))
                    .build(),
            )
            .set_reply_to_addresses(email.reply_to.clone().map(|r| vec![r]))
            .set_configuration_set_name(self.configuration_set.clone())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await;
        match result {
            Ok(output) => Ok(output.message_id.unwrap_or_default()),
            Err(err) => {
                let text = describe(&err);
                Err(match err.as_service_error() {
                    Some(
                        SendEmailError::TooManyRequestsException(_)
                        | SendEmailError::LimitExceededException(_),
                    ) => MailError::Throttled(text),
                    _ if is_transient(&err) => MailError::Unavailable(text),
                    _ => MailError::Rejected(text),
                })
            }
        }
    }
}
