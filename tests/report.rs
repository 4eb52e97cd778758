//! `firsthour demo-data` and `firsthour report` against moto, run as the
//! built binary with the environment `make run` prints.

use firsthour_tests::*;

use firsthour_tests::firsthour_cli as firsthour;

#[tokio::test]
async fn demo_data_and_a_real_lead_show_in_every_format_and_the_chart() {
    let t = TestStack::new().await;
    let table = t.stack.table_name.clone();
    let (code, out, err) = firsthour(&[
        "demo-data",
        "--leads",
        "150",
        "--days",
        "3",
        "--table",
        &table,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("150 demo leads"), "{out}");
    // Demo leads never wait in the due index (a running stack would email them).
    let due = t
        .dynamo()
        .query()
        .table_name(&table)
        .index_name("due-index")
        .key_condition_expression("due_bucket = :due")
        .expression_attribute_values(
            ":due",
            aws_sdk_dynamodb::types::AttributeValue::S("due".into()),
        )
        .send()
        .await
        .expect("query");
    assert_eq!(due.count, 0);

    // One real lead through the functions, touched at once: the ≤ 5 min bucket.
    let intake = t.app().intake();
    let id = post_json_lead(
        &intake,
        r#"{"email":"grace.hopper@navy.mil","name":"Grace Hopper"}"#,
    )
    .await;
    let (status, text) = t
        .touch(
            &intake,
            &id,
            r#"{"by":"fed-rep-1@example.com","channel":"call","touch_id":"c1"}"#,
        )
        .await;
    assert_eq!(status, 200, "{text}");

    let (code, out, err) = firsthour(&["report", "--table", &table, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("parallel scan"), "says how it reads: {err}");
    let report = json(&out);
    let rows = report["rows"].as_array().expect("rows");
    let total = rows.last().expect("total");
    assert_eq!(total["segment"], "all");
    assert_eq!(total["leads"], 151);
    let buckets: u64 = total["buckets"]
        .as_object()
        .expect("buckets")
        .values()
        .map(|v| v.as_u64().expect("count"))
        .sum();
    assert_eq!(buckets, 151, "every lead in exactly one bucket");
    let web = rows
        .iter()
        .find(|r| r["segment"] == "federal" && r["source"] == "web")
        .expect("the real lead's row");
    assert_eq!(web["leads"], 1);
    assert_eq!(web["buckets"]["within_5_min"], 1);
    // The federal ladder's 10-minute tier moves unanswered demo leads on
    // (those whose next rep was working then); other ladders move nothing.
    let federal = rows
        .iter()
        .find(|r| r["segment"] == "federal" && r["source"].is_null())
        .expect("federal row");
    let reassigned = federal["reassigned"].as_u64().expect("reassigned");
    assert!(
        reassigned <= federal["escalations"]["2"].as_u64().unwrap_or(0),
        "{federal}"
    );
    let commercial = rows
        .iter()
        .find(|r| r["segment"] == "commercial" && r["source"].is_null())
        .expect("commercial row");
    assert_eq!(commercial["reassigned"], 0, "{commercial}");
    for segment in ["federal", "commercial", "enterprise"] {
        assert!(
            rows.iter()
                .any(|r| r["segment"] == segment && r["source"].is_null()),
            "{segment} row"
        );
    }
    assert!(
        !out.contains("navy.mil") && !out.contains("Hopper"),
        "no personal data in the report"
    );

    // Small pages and many workers: every page of every scan segment is read once.
    let (code, paged, err) = firsthour(&[
        "report",
        "--table",
        &table,
        "--format",
        "json",
        "--parallel",
        "7",
        "--page-size",
        "9",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&paged)["rows"], report["rows"], "same figures, paged");
    assert!(err.contains("7 segments"), "{err}");

    let (code, out, _) = firsthour(&["report", "--table", &table, "--segment", "federal"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("federal") && !out.contains("commercial"),
        "{out}"
    );
    assert!(
        out.contains("≤ 5 min") && out.contains("p50 response") && out.contains("claim only"),
        "{out}"
    );
    assert!(out.contains("buckets by first response"), "{out}");

    let (code, out, _) = firsthour(&["report", "--table", &table, "--format", "csv"]);
    assert_eq!(code, 0);
    let header = out.lines().next().expect("header");
    assert!(
        header.starts_with("segment,source,leads,within_5_min"),
        "{header}"
    );
    assert_eq!(
        out.trim_end()
            .lines()
            .last()
            .map(|l| l.starts_with("all,,151,")),
        Some(true),
        "{out}"
    );

    let (code, out, _) = firsthour(&[
        "report",
        "--table",
        &table,
        "--since",
        "2099-01-01",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        json(&out)["rows"][0]["leads"],
        0,
        "nothing received after 2099"
    );

    let dir = std::env::temp_dir().join(format!("firsthour-report-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).expect("tmp");
    for name in ["chart.svg", "chart.png"] {
        let path = dir.join(name);
        let (code, _, err) = firsthour(&[
            "report",
            "--table",
            &table,
            "--chart",
            path.to_str().expect("utf-8"),
        ]);
        assert_eq!(code, 0, "{err}");
        let bytes = std::fs::read(&path).expect("chart written");
        if name.ends_with(".png") {
            assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
        } else {
            let svg = String::from_utf8(bytes).expect("utf-8");
            assert!(svg.contains("federal (") && svg.contains("<polyline"));
            // The chart says what it measures, and its bars read as the table does.
            assert!(svg.contains("Time to first response"), "{svg}");
            assert!(svg.contains("≤ 1 h") && !svg.contains("5–60 min"));
        }
    }

    // Both moments, and how the responses came.
    let by = |measure: &str| {
        let (code, out, err) = firsthour(&[
            "report", "--table", &table, "--format", "json", "--by", measure,
        ]);
        assert_eq!(code, 0, "{err}");
        let report = json(&out);
        assert_eq!(report["report"]["buckets_by"], measure);
        report["rows"]
            .as_array()
            .and_then(|r| r.last().cloned())
            .expect("total")
    };
    let (response, claim) = (by("response"), by("claim"));
    let within = |row: &serde_json::Value| row["answered_within_1_hour"].as_f64().expect("share");
    assert!(
        within(&response) <= within(&claim),
        "a response never comes before the first touch"
    );
    assert!(
        response["responded_by_reply"].as_u64() > Some(0),
        "{response}"
    );
    assert!(
        response["responded_by_crm"].as_u64() > Some(0),
        "{response}"
    );
    assert!(response["claim_only"].as_u64() > Some(0), "{response}");
    assert!(
        response["p50_ms_to_first_response"].as_i64() >= response["p50_ms_to_first_touch"].as_i64()
    );

    // The demo leads go; the real one stays.
    let (code, out, err) = firsthour(&["demo-data", "--clear", "--table", &table]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("150 demo leads deleted"), "{out}");
    let (_, out, _) = firsthour(&["report", "--table", &table, "--format", "json"]);
    let rows = json(&out)["rows"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        rows.last().map(|r| r["leads"].clone()),
        Some(serde_json::json!(1))
    );
}

#[tokio::test]
async fn bad_arguments_and_a_missing_table_get_clear_errors() {
    for (args, expected) in [
        (vec!["report", "--since", "yesterday"], "--since"),
        (vec!["report", "--chart", "chart.gif"], ".svg or .png"),
        (
            vec!["report", "--since", "2026-02-01", "--until", "2026-01-01"],
            "before",
        ),
        (vec!["report", "--format", "xml"], "xml"),
        (vec!["report", "--table", "no-such-table"], "no-such-table"),
        (vec!["demo-data", "--leads", "0"], "leads"),
    ] {
        let (code, out, err) = firsthour(&args);
        assert_ne!(code, 0, "{args:?}: {out}");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}
