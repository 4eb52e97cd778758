//! The report as a text table, JSON or CSV.

use serde_json::json;

use super::model::{GroupStats, Report, human_duration};

fn pct(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

fn duration(ms: Option<i64>) -> String {
    ms.map_or_else(|| "–".to_owned(), human_duration)
}

fn columns(report: &Report) -> Vec<String> {
    let mut columns: Vec<String> = [
        "segment",
        "source",
        "leads",
        "≤ 5 min",
        "≤ 1 h",
        "≤ 24 h",
        "later",
        "never",
        "waiting",
        "p50 response",
        "p90 response",
        "p50 touch",
        "by reply",
        "by crm",
        "claim only",
    ]
    .iter()
    .map(|c| (*c).to_owned())
    .collect();
    columns.extend((1..=report.max_tier).map(|t| format!("tier {t}")));
    columns.extend([
        "breached".to_owned(),
        "reassigned".to_owned(),
        "fallback".to_owned(),
    ]);
    columns
}

fn cells(row: &GroupStats, max_tier: u32) -> Vec<String> {
    let mut cells = vec![
        row.segment.clone(),
        row.source.clone().unwrap_or_else(|| "(all)".into()),
        row.leads.to_string(),
        pct(row.answered_within_5_min),
        pct(row.answered_within_1_hour),
        pct(row.answered_within_24_hours),
        pct(row.answered_later),
        pct(row.never_answered),
        row.waiting.to_string(),
        duration(row.p50_ms_to_first_response),
        duration(row.p90_ms_to_first_response),
        duration(row.p50_ms_to_first_touch),
        row.responded_by_reply.to_string(),
        row.responded_by_crm.to_string(),
        row.claim_only.to_string(),
    ];
    cells.extend((1..=max_tier).map(|t| row.escalations.get(&t).copied().unwrap_or(0).to_string()));
    cells.push(row.breaches.to_string());
    cells.push(row.reassigned.to_string());
    cells.push(row.fallback_hits.to_string());
    cells
}

/// An aligned text table: names left, numbers right.
pub fn table(report: &Report) -> String {
    let header = columns(report);
    let rows: Vec<Vec<String>> = report
        .rows()
        .iter()
        .map(|r| cells(r, report.max_tier))
        .collect();
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain(std::iter::once(header[i].chars().count()))
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..header.len()).map(width).collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = " ".repeat(widths[i].saturating_sub(c.chars().count()));
                if i < 2 {
                    format!("{c}{pad}")
                } else {
                    format!("{pad}{c}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = vec![line(&header)];
    out.extend(rows.iter().map(|r| line(r)));
    out.push(String::new());
    out.push(format!(
        "≤ 5 min, ≤ 1 h, ≤ 24 h: share of leads whose {} came within that time of arrival (cumulative); \
         later: after 24 h; never: none for over 24 h; waiting: none yet, younger than 24 h. \
         p50/p90 over the leads that had one; p50 touch: the first claim or touch. \
         by reply / by crm: the first response was a tracked email reply / a CRM or touch API activity; \
         claim only: claimed, no response yet.",
        report.measure.label()
    ));
    out.join("\n")
}

/// One object per row, with raw numbers (milliseconds, shares 0–1).
pub fn json(report: &Report, meta: serde_json::Value) -> String {
    let rows: Vec<&GroupStats> = report.rows();
    serde_json::to_string_pretty(&json!({
        "report": meta,
        "rows": rows,
    }))
    .unwrap_or_default()
}

/// One line per row, raw numbers, for spreadsheets.
pub fn csv(report: &Report) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec![
        "segment",
        "source",
        "leads",
        "within_5_min",
        "within_1_hour",
        "within_24_hours",
        "later",
        "never",
        "waiting",
        "p50_ms_to_first_touch",
        "p90_ms_to_first_touch",
        "p50_ms_to_first_response",
        "p90_ms_to_first_response",
        "responded_by_reply",
        "responded_by_crm",
        "claim_only",
        "p50_ms_to_notify",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect::<Vec<_>>();
    header.extend((1..=report.max_tier).map(|t| format!("tier_{t}")));
    header.extend([
        "breached".into(),
        "reassigned".into(),
        "fallback_hits".into(),
    ]);
    writer.write_record(&header)?;
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    for row in report.rows() {
        let mut record = vec![
            row.segment.clone(),
            row.source.clone().unwrap_or_default(),
            row.leads.to_string(),
            format!("{:.4}", row.answered_within_5_min),
            format!("{:.4}", row.answered_within_1_hour),
            format!("{:.4}", row.answered_within_24_hours),
            format!("{:.4}", row.answered_later),
            format!("{:.4}", row.never_answered),
            row.waiting.to_string(),
            opt(row.p50_ms_to_first_touch),
            opt(row.p90_ms_to_first_touch),
            opt(row.p50_ms_to_first_response),
            opt(row.p90_ms_to_first_response),
            row.responded_by_reply.to_string(),
            row.responded_by_crm.to_string(),
            row.claim_only.to_string(),
            opt(row.p50_ms_to_notify),
        ];
        record.extend(
            (1..=report.max_tier)
                .map(|t| row.escalations.get(&t).copied().unwrap_or(0).to_string()),
        );
        record.push(row.breaches.to_string());
        record.push(row.reassigned.to_string());
        record.push(row.fallback_hits.to_string());
        writer.write_record(&record)?;
    }
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::super::model::LeadRecord;
    use super::*;

    fn report() -> Report {
        let lead = |segment: &str, source: &str, minutes: Option<i64>| LeadRecord {
            segment: segment.into(),
            source: source.into(),
            ms_to_first_touch: minutes.map(|m| m * 60_000),
            escalated_tiers: if minutes.is_none() {
                vec![1, 2]
            } else {
                vec![]
            },
            ..LeadRecord::default()
        };
        Report::build(
            &[
                lead("federal", "gov-portal", Some(3)),
                lead("federal", "website", Some(45)),
                lead("commercial", "website", None),
            ],
            10 * 86_400_000,
            super::super::model::Measure::Claim,
        )
    }

    #[test]
    fn the_table_is_aligned_and_explains_its_columns() {
        let text = table(&report());
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("segment"), "{text}");
        assert!(lines[0].contains("tier 2") && lines[0].contains("fallback"));
        let all = lines.iter().find(|l| l.starts_with("all")).expect("total");
        assert!(all.contains("33%"), "{all}");
        assert!(text.contains("never: none for over 24 h"));
        assert!(
            text.contains("first touch (a claim counts)"),
            "says what the buckets measure"
        );
        let widths: Vec<usize> = lines[..5].iter().map(|l| l.chars().count()).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{text}");
    }

    #[test]
    fn csv_and_json_carry_raw_numbers() {
        let report = report();
        let text = csv(&report).expect("csv");
        let mut lines = text.lines();
        assert!(lines.next().expect("header").contains("tier_2"));
        assert!(text.contains("federal,gov-portal,1,1.0000"), "{text}");
        let value: serde_json::Value =
            serde_json::from_str(&json(&report, json!({"table": "t"}))).expect("json");
        assert_eq!(value["report"]["table"], "t");
        let rows = value["rows"].as_array().expect("rows");
        assert_eq!(rows.last().expect("total")["leads"], 3);
        assert_eq!(rows[1]["p50_ms_to_first_touch"], 180_000);
        assert_eq!(rows[0]["escalations"]["2"], 1);
    }
}
