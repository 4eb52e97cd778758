//! Fault injection: the table unreachable while senders keep retrying.
//! (EventBridge failing, SES throttling and MessageRejected are covered in
//! tests/escalation.rs and tests/router.rs.)

use firsthour_tests::*;

#[tokio::test]
async fn store_down_while_200_deliveries_retry_then_every_lead_stored_exactly_once() {
    let t = TestStack::new().await;
    let proxy = FaultProxy::start(&emulator_url()).await;
    // Short timeouts and no SDK retries: the outage shows at once.
    let store_sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&proxy.url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(std::time::Duration::from_secs(3))
                .build(),
        )
        .load()
        .await;
    // All 200 senders share the test's client IP: no per-IP limit here.
    let config = temp_config("[spam]\nper_ip_per_minute = 0\n");
    let app = std::sync::Arc::new(t.app().config(&config).store_at(&store_sdk).intake());
    // Senders post their deliveries, 16 at a time (moto serialises DynamoDB,
    // so an unbounded burst would only measure its queue); `pending` are
    // those still to retry.
    let send = |app: std::sync::Arc<Intake>, pending: Vec<usize>| async move {
        use futures::StreamExt;
        futures::stream::iter(pending)
            .map(|i| {
                let app = app.clone();
                async move {
                    let key = format!("delivery-{i}");
                    let body = format!(r#"{{"email":"retry{i}@example.com","message":"attempt"}}"#);
                    let headers = [
                        ("content-type", "application/json"),
                        ("idempotency-key", key.as_str()),
                    ];
                    (
                        i,
                        parts(
                            app.handle(http_api_request(
                                "POST",
                                "/leads",
                                &headers,
                                body.as_bytes(),
                            ))
                            .await,
                        )
                        .0,
                    )
                }
            })
            .buffer_unordered(16)
            .collect::<Vec<_>>()
            .await
    };
    proxy.set_down(true);
    let mut pending: Vec<usize> = (0..200).collect();
    for round in 0..3 {
        let statuses = send(app.clone(), pending.clone()).await;
        assert!(
            statuses.iter().all(|(_, s)| *s == 503),
            "round {round}: no 2xx while the store is down"
        );
    }
    assert!(
        t.router_events(0, std::time::Duration::from_millis(300))
            .await
            .is_empty(),
        "nothing published"
    );
    assert!(t.items().await.is_empty(), "nothing stored");

    // Recovery: senders keep retrying what did not get a 2xx (a timeout after
    // the write committed comes back as a duplicate, never a second lead).
    proxy.set_down(false);
    let mut created = 0;
    let mut duplicates = 0;
    let mut rounds = 0;
    for _ in 0..20 {
        if pending.is_empty() {
            break;
        }
        rounds += 1;
        let statuses = send(app.clone(), pending.clone()).await;
        pending = statuses
            .iter()
            .filter(|(_, s)| *s == 503)
            .map(|(i, _)| *i)
            .collect();
        created += statuses.iter().filter(|(_, s)| *s == 202).count();
        duplicates += statuses.iter().filter(|(_, s)| *s == 200).count();
        assert!(
            statuses.iter().all(|(_, s)| [200, 202, 503].contains(s)),
            "{statuses:?}"
        );
    }
    eprintln!(
        "fault figures: 200 deliveries, {rounds} retry rounds after recovery, {created} created (202), {duplicates} answered as duplicates (committed before a timeout)"
    );
    assert!(
        pending.is_empty(),
        "{} deliveries never got through",
        pending.len()
    );
    assert_eq!(created + duplicates, 200);
    let again = send(app, (0..200).collect()).await;
    assert!(
        again.iter().all(|(_, s)| *s == 200 || *s == 503),
        "a retry after success is a duplicate (or busy), never a new lead: {again:?}"
    );
    assert_eq!(t.leads().await.len(), 200, "every lead stored exactly once");
    // Leads whose write committed after the sender's timeout were answered
    // 503, so they were not announced; they wait in the due index and the
    // escalation sweep re-drives them (tests/escalation.rs).
    let announced = t
        .queue_events(
            &t.rule_queue("OtherLeadReceived"),
            created,
            std::time::Duration::from_secs(15),
        )
        .await
        .len();
    let flagged = t
        .leads()
        .await
        .iter()
        .filter(|l| s(l, "publish_failed_at").is_some())
        .count();
    assert_eq!(
        announced + flagged,
        created,
        "each 202 announced once, or flagged for re-drive"
    );
    assert!(
        t.leads()
            .await
            .iter()
            .all(|l| s(l, "due_bucket") == Some("due")),
        "every lead can be re-driven"
    );
}
