//! A local stand-in for the API Gateway HTTP API: each HTTP request becomes
//! a payload-v2 event for the intake function, and its answer the response.
//! Also serves `/_local/mail`, the emails the local stack sent (and the
//! channel stand-ins' messages), and `/_local/outputs`, the stack's outputs
//! with their local values (what the book's `<OutputName>` placeholders stand for).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::bootstrap::LocalStack;
use crate::mail;
use crate::runtime_api::FunctionHost;
use crate::template::{OutputValue, TemplateModel, substitute};

pub struct GatewayState {
    pub intake: Arc<FunctionHost>,
    /// The emulator's base URL, for the sent-mail view.
    pub emulator_url: String,
    pub limits: GatewayLimits,
    /// The sent-mail view's own state: the channel stand-ins' address and
    /// the last clear.
    pub mail_view: mail::ViewState,
}

/// What API Gateway's HTTP API enforces before the function sees a request
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html>).
#[derive(Debug, Clone, Copy)]
pub struct GatewayLimits {
    /// "Total combined size of request line and header values": 10,240 bytes.
    pub max_head_bytes: usize,
    /// "Payload size": 10 MB.
    pub max_body_bytes: usize,
    /// A client that declares a body and stops sending it is cut off after
    /// this long (API Gateway does not hold a connection forever).
    pub body_timeout: Duration,
}

impl Default for GatewayLimits {
    fn default() -> Self {
        Self {
            max_head_bytes: 10_240,
            max_body_bytes: 10 * 1024 * 1024,
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// Headers that can only hold one value: a client sending two gets the
/// first passed on, rather than two joined with a comma (which no media
/// type parser reads).
const SINGLE_VALUED: &[&str] = &["content-type", "content-length", "host", "authorization"];

pub fn router(state: Arc<GatewayState>) -> Router {
    Router::new()
        .route("/_local/mail", get(mail_page))
        // POST only (a GET is 405): clearing changes what the view shows.
        .route("/_local/mail/clear", post(clear_mail))
        .route("/_local/mail/{id}", get(single_mail_page))
        .fallback(proxy)
        .with_state(state)
}

/// [`router`], and `/_local/outputs` serving `outputs` (resolved once by the
/// caller: the stack's values do not change while it runs). Apart from
/// [`GatewayState`], so a gateway without a stack (the benchmarks) has no
/// outputs to make up.
pub fn router_with_outputs(state: Arc<GatewayState>, outputs: Vec<StackOutput>) -> Router {
    outputs_router(outputs).merge(router(state))
}

fn outputs_router(outputs: Vec<StackOutput>) -> Router {
    let outputs = Arc::new(outputs);
    Router::new().route(
        "/_local/outputs",
        get(move || async move { outputs_response(&outputs) }),
    )
}

/// The sent mail and the channel messages, narrowed by `?lead=` and `?to=`
/// (a value that is not a lead id or an address gets the page with a note,
/// never an error).
async fn mail_page(State(state): State<Arc<GatewayState>>, RawQuery(query): RawQuery) -> Response {
    let filter = mail::Filter::parse(query.as_deref());
    let (sent, channels) = tokio::join!(
        mail::sent_messages(&state.emulator_url),
        state.mail_view.channels()
    );
    let messages = match sent {
        Ok(messages) => messages,
        Err(err) => return cannot_read_mail(&err),
    };
    let cleared = state.mail_view.cleared();
    Html(mail::render_page(&mail::View {
        mails: &messages,
        filter: &filter,
        cleared: cleared.as_ref(),
        channels: &channels,
    }))
    .into_response()
}

/// Empties the view: what moto holds now, and what the stand-ins received
/// until now, is hidden from then on (see [`mail::Cleared`]); then back to
/// the view.
async fn clear_mail(State(state): State<Arc<GatewayState>>) -> Response {
    // Taken before reading moto: a channel message arriving meanwhile still shows.
    let at = mail::now_seconds();
    match mail::sent_messages(&state.emulator_url).await {
        Ok(messages) => {
            state.mail_view.clear(&messages, at);
            Redirect::to("/_local/mail").into_response()
        }
        Err(err) => cannot_read_mail(&err),
    }
}

fn cannot_read_mail(err: &reqwest::Error) -> Response {
    (
        StatusCode::BAD_GATEWAY,
        format!("cannot read sent mail from the emulator: {err}"),
    )
        .into_response()
}

/// One sent email on its own page, as its recipient would see it: served
/// with a content security policy that runs no script and loads nothing
/// remote but images; its links (the claim link) open in place.
async fn single_mail_page(
    State(state): State<Arc<GatewayState>>,
    Path(id): Path<String>,
) -> Response {
    let messages = match mail::sent_messages(&state.emulator_url).await {
        Ok(messages) => messages,
        Err(err) => return cannot_read_mail(&err),
    };
    match messages.iter().find(|m| m.id == id) {
        Some(found) => (
            [(
                axum::http::header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; base-uri 'none'; form-action 'none'",
            )],
            Html(mail::render_single(found)),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Html(firsthour::html::page(
                "Not found",
                "No such email",
                "<p><a href=\"/_local/mail\">All sent mail</a></p>",
            )),
        )
            .into_response(),
    }
}

/// The outputs, as `describe-stacks --query "Stacks[0].Outputs"` prints them.
fn outputs_response(outputs: &[StackOutput]) -> Response {
    axum::Json(outputs).into_response()
}

/// One stack output as `aws cloudformation describe-stacks` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackOutput {
    pub output_key: String,
    pub output_value: String,
    /// Left out when the template gives none, as describe-stacks does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The template's outputs with the local stack's values, in template order.
/// An output whose condition does not hold, or whose value refers to
/// something the local run does not create (the dashboard, the alarm topic,
/// AppConfig without live rules…), is left out rather than given a made-up
/// value. The HTTP API's URL is the local gateway's, `base_url`.
pub fn stack_outputs(
    model: &TemplateModel,
    stack: &LocalStack,
    base_url: &str,
) -> Vec<StackOutput> {
    let base_url = base_url.trim_end_matches('/');
    // Parameters are among the stack's refs too (their run values, else their defaults).
    let value_of = |name: &str| stack.value_of(name);
    let attribute = |resource: &str, attribute: &str| -> Option<String> {
        if model.http_api.as_deref() == Some(resource) && attribute == "ApiEndpoint" {
            return Some(base_url.to_owned());
        }
        stack
            .attributes
            .get(&format!("{resource}.{attribute}"))
            .cloned()
    };
    model
        .outputs
        .iter()
        .filter(|output| {
            output
                .condition
                .as_deref()
                .is_none_or(|condition| model.condition_holds(condition, &value_of) == Some(true))
        })
        .filter_map(|output| {
            let value = match &output.value {
                OutputValue::Literal(text) => Some(text.clone()),
                OutputValue::Ref(name) => value_of(name),
                OutputValue::GetAtt(resource, name) => attribute(resource, name),
                OutputValue::Sub(text) => {
                    let api_url = model.http_api.as_deref().and_then(|api| {
                        text.strip_prefix(&format!(
                            "https://${{{api}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}"
                        ))
                    });
                    match api_url {
                        // The HTTP API's URL is where the local gateway listens.
                        Some(rest) => substitute(rest, &value_of, &attribute)
                            .map(|rest| format!("{base_url}{rest}")),
                        None => substitute(text, &value_of, &attribute),
                    }
                }
            }?;
            Some(StackOutput {
                output_key: output.key.clone(),
                output_value: value,
                description: output.description.clone(),
            })
        })
        .collect()
}

/// The payload-v2 event API Gateway would send for this request.
pub fn http_api_event(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    source_ip: &str,
) -> Value {
    let mut joined: serde_json::Map<String, Value> = serde_json::Map::new();
    let mut cookies = Vec::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == "cookie" {
            cookies.extend(value.split(';').map(|c| c.trim().to_owned()));
            continue;
        }
        if SINGLE_VALUED.contains(&name.as_str()) && joined.contains_key(name.as_str()) {
            continue;
        }
        // HTTP API joins repeated headers with commas.
        match joined.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                joined.insert(name.as_str().to_owned(), Value::String(value));
            }
        }
    }
    let now = time::OffsetDateTime::now_utc();
    let user_agent = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": uri.path(),
        "rawQueryString": uri.query().unwrap_or_default(),
        "headers": joined,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": host,
            "domainPrefix": host.split('.').next().unwrap_or(host),
            "http": {
                "method": method.as_str(),
                "path": uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": user_agent,
            },
            "requestId": ulid::Ulid::new().to_string(),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.format(&time::format_description::well_known::Rfc2822).unwrap_or_default(),
            "timeEpoch": now.unix_timestamp_nanos() / 1_000_000,
        },
        "isBase64Encoded": !body.is_empty(),
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !body.is_empty() {
        event["body"] = json!(BASE64.encode(body));
    }
    event
}

/// Turns the function's payload-v2 response into an HTTP response.
pub fn http_response(answer: &[u8]) -> Response {
    let Ok(parsed) = serde_json::from_slice::<Value>(answer) else {
        return (
            StatusCode::BAD_GATEWAY,
            "function returned a non-JSON response",
        )
            .into_response();
    };
    let status = parsed
        .get("statusCode")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let body = match parsed.get("body").and_then(Value::as_str) {
        Some(text) if parsed.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) => {
            BASE64.decode(text).unwrap_or_default()
        }
        Some(text) => text.as_bytes().to_vec(),
        None => Vec::new(),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    let mut add = |name: &str, value: &str| {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::from_str(value)) {
            headers.append(name, value);
        }
    };
    if let Some(map) = parsed.get("headers").and_then(Value::as_object) {
        for (name, value) in map {
            add(name, value.as_str().unwrap_or_default());
        }
    }
    if let Some(map) = parsed.get("multiValueHeaders").and_then(Value::as_object) {
        for (name, values) in map {
            for value in values.as_array().into_iter().flatten() {
                add(name, value.as_str().unwrap_or_default());
            }
        }
    }
    for cookie in parsed
        .get("cookies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        add("set-cookie", cookie.as_str().unwrap_or_default());
    }
    response
}

async fn proxy(
    State(state): State<Arc<GatewayState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let limits = state.limits;
    let head = head_size(&parts.method, &parts.uri, &parts.headers);
    if head > limits.max_head_bytes {
        return gateway_error(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Request Header Fields Too Large",
        );
    }
    let declared = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limits.max_body_bytes as u64) {
        return gateway_error(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    }
    let body = match tokio::time::timeout(
        limits.body_timeout,
        axum::body::to_bytes(body, limits.max_body_bytes),
    )
    .await
    {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => {
            return gateway_error(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
        }
        Err(_) => {
            let mut response = gateway_error(StatusCode::REQUEST_TIMEOUT, "Request Timeout");
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                HeaderValue::from_static("close"),
            );
            return response;
        }
    };
    let event = http_api_event(
        &parts.method,
        &parts.uri,
        &parts.headers,
        &body,
        &peer.ip().to_string(),
    );
    match state.intake.invoke(&event).await {
        Ok(answer) => http_response(&answer),
        // API Gateway answers 500 when the integration fails.
        Err(err) => {
            eprintln!("[gateway] intake invocation failed: {err}");
            gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
    }
}

/// The request line and header values, counted as the HTTP API quota counts them.
fn head_size(method: &Method, uri: &Uri, headers: &HeaderMap) -> usize {
    let request_line = method.as_str().len() + 1 + uri.to_string().len() + " HTTP/1.1".len();
    headers.values().fold(request_line, |total, value| {
        total.saturating_add(value.len())
    })
}

/// API Gateway's own answers are JSON `{"message": ...}`.
fn gateway_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        json!({ "message": message }).to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::template::shipped;

    const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:firsthour-local";
    const QUEUE: &str = "http://127.0.0.1:5000/123456789012/firsthour-local";

    /// A local stack as `LocalStack::create` leaves it: parameters and
    /// resources in `refs`, queue attributes in `attributes`.
    fn stack(parameters: &[(&str, &str)]) -> LocalStack {
        let mut refs: BTreeMap<String, String> = [
            ("LeadTable", "firsthour-local-leads".to_owned()),
            ("LeadBus", "firsthour-local-leads".to_owned()),
            (
                "TouchApiTokenSecret",
                format!("{SECRET}-TouchApiTokenSecret-a1"),
            ),
            ("OutboundSecrets", format!("{SECRET}-OutboundSecrets-b2")),
            ("RouterFailureQueue", format!("{QUEUE}-RouterFailureQueue")),
            (
                "DeliveryDeadLetterQueue",
                format!("{QUEUE}-DeliveryDeadLetterQueue"),
            ),
            ("AppConfigExtensionLayerArn", String::new()),
            ("InboundDomain", "replies.firsthour.test".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        refs.extend(
            parameters
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        LocalStack {
            prefix: "firsthour-local".into(),
            table_name: "firsthour-local-leads".into(),
            bus_name: "firsthour-local-leads".into(),
            rule_queues: Vec::new(),
            queues: BTreeMap::new(),
            queue_rules: Vec::new(),
            refs,
            attributes: BTreeMap::new(),
        }
    }

    fn values(outputs: &[StackOutput]) -> Vec<(&str, &str)> {
        outputs
            .iter()
            .map(|o| (o.output_key.as_str(), o.output_value.as_str()))
            .collect()
    }

    #[test]
    fn the_outputs_get_the_local_stacks_values_in_template_order() {
        let outputs = stack_outputs(&shipped(), &stack(&[]), "http://127.0.0.1:3000");
        let secret = |id: &str| format!("{SECRET}-{id}");
        let queue = |id: &str| format!("{QUEUE}-{id}");
        assert_eq!(
            values(&outputs),
            [
                ("WebhookUrl", "http://127.0.0.1:3000/leads"),
                ("ApiBaseUrl", "http://127.0.0.1:3000"),
                ("TableName", "firsthour-local-leads"),
                ("BusName", "firsthour-local-leads"),
                ("OutboundSecretsArn", secret("OutboundSecrets-b2").as_str()),
                (
                    "SlackInteractivityUrl",
                    "http://127.0.0.1:3000/slack/interactions"
                ),
                (
                    "DeliveryDeadLetterQueueUrl",
                    queue("DeliveryDeadLetterQueue").as_str()
                ),
                (
                    "TouchApiTokenSecretArn",
                    secret("TouchApiTokenSecret-a1").as_str()
                ),
                (
                    "RouterFailureQueueUrl",
                    queue("RouterFailureQueue").as_str()
                ),
                // The stack's condition holds (a domain) though the rule set is not created.
                (
                    "InboundMxRecord",
                    "replies.firsthour.test MX 10 inbound-smtp.us-east-1.amazonaws.com"
                ),
            ]
        );
        assert_eq!(
            outputs[2].description.as_deref(),
            Some("The lead table."),
            "{outputs:?}"
        );
    }

    #[test]
    fn outputs_of_what_the_local_run_lacks_or_whose_condition_fails_are_left_out() {
        let model = shipped();
        let keys = |stack: &LocalStack| -> Vec<String> {
            stack_outputs(&model, stack, "http://127.0.0.1:3000/")
                .into_iter()
                .map(|o| o.output_key)
                .collect()
        };
        let all = keys(&stack(&[]));
        // Nothing local for the alarm topic, the dashboard, the receipt rule
        // set, nor AppConfig (its condition fails without the layer).
        for missing in [
            "AlarmTopicArn",
            "DashboardName",
            "InboundReceiptRuleSet",
            "RulesApplicationId",
            "RulesProfileId",
        ] {
            assert!(!all.iter().any(|k| k == missing), "{missing} in {all:?}");
        }
        // Without a domain the MX record output does not exist, as in AWS.
        let no_domain = keys(&stack(&[("InboundDomain", "")]));
        assert!(
            !no_domain.iter().any(|k| k == "InboundMxRecord"),
            "{no_domain:?}"
        );
        // With live rules on, the condition holds but the application is
        // still not created locally: still left out, not invented.
        let live = keys(&stack(&[(
            "AppConfigExtensionLayerArn",
            "arn:aws:lambda:layer",
        )]));
        assert!(!live.iter().any(|k| k.starts_with("Rules")), "{live:?}");
        // A resource the stack lacks leaves its output out.
        let mut without_table = stack(&[]);
        without_table.refs.remove("LeadTable");
        assert!(!keys(&without_table).iter().any(|k| k == "TableName"));
    }

    #[test]
    fn sub_reads_names_attributes_pseudo_parameters_and_escapes() {
        let value_of = |name: &str| match name {
            "AWS::Region" => Some("us-east-1".to_owned()),
            "Queue" => Some("https://queue".to_owned()),
            _ => None,
        };
        let attribute = |resource: &str, name: &str| {
            (resource == "Queue" && name == "Arn").then(|| "arn:q".to_owned())
        };
        let sub = |text: &str| substitute(text, &value_of, &attribute);
        assert_eq!(
            sub("${Queue} ${Queue.Arn} in ${AWS::Region}, ${!Literal}"),
            Some("https://queue arn:q in us-east-1, ${Literal}".into())
        );
        assert_eq!(sub("no references"), Some("no references".into()));
        assert_eq!(sub("${Unknown}/x"), None);
        assert_eq!(sub("${Queue.QueueName}"), None);
        assert_eq!(sub("${unterminated"), None);
    }

    #[test]
    fn get_att_outputs_read_the_stacks_attributes_and_the_api_endpoint_is_the_gateway() {
        let text = r#"
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
  Bus: {Type: AWS::Events::EventBus}
  Api: {Type: AWS::Serverless::HttpApi}
Outputs:
  QueueArn: {Value: !GetAtt Q.Arn}
  Endpoint: {Value: {"Fn::GetAtt": [Api, ApiEndpoint]}}
  Missing: {Value: !GetAtt Q.Nothing}
  Plain: {Value: as written}
  Stack: {Value: !Sub "${AWS::StackName}/${AWS::AccountId}/${AWS::Partition}"}
"#;
        let model = match serde_yaml::from_str(text).map(TemplateModel::from_value) {
            Ok(Ok(model)) => model,
            other => panic!("{other:?}"),
        };
        let mut local = stack(&[]);
        local
            .attributes
            .insert("Q.Arn".into(), "arn:aws:sqs:q".into());
        assert_eq!(
            values(&stack_outputs(&model, &local, "http://127.0.0.1:3105")),
            [
                ("QueueArn", "arn:aws:sqs:q"),
                ("Endpoint", "http://127.0.0.1:3105"),
                ("Plain", "as written"),
                ("Stack", "firsthour-local/123456789012/aws"),
            ]
        );
    }

    #[tokio::test]
    async fn the_outputs_are_served_as_describe_stacks_prints_them() {
        let app = outputs_router(vec![
            StackOutput {
                output_key: "TableName".into(),
                output_value: "firsthour-local-leads".into(),
                description: Some("The lead table.".into()),
            },
            StackOutput {
                output_key: "Bare".into(),
                output_value: "x".into(),
                description: None,
            },
        ]);
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(listener) => listener,
            Err(err) => panic!("bind: {err}"),
        };
        let addr = match listener.local_addr() {
            Ok(addr) => addr,
            Err(err) => panic!("{err}"),
        };
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let response = match reqwest::get(format!("http://{addr}/_local/outputs")).await {
            Ok(response) => response,
            Err(err) => panic!("GET /_local/outputs: {err}"),
        };
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        assert_eq!(
            response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
        let parsed: Value = match response.json().await {
            Ok(parsed) => parsed,
            Err(err) => panic!("{err}"),
        };
        server.abort();
        assert_eq!(
            parsed,
            json!([
                {"OutputKey": "TableName", "OutputValue": "firsthour-local-leads", "Description": "The lead table."},
                {"OutputKey": "Bare", "OutputValue": "x"}
            ])
        );
    }
}
