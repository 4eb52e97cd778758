//! The report as a picture: the HBR buckets per segment (grouped bars) and
//! the distribution of time to first touch (share answered by then, log
//! time axis). Written as plain SVG; PNG is the same SVG rasterised by resvg.

use std::fmt::Write;

use super::model::{Bucket, GroupStats, Report};

const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 812.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 36.0;
const FONT: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";
/// Okabe–Ito: told apart by people with colour-vision deficiency too.
const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
];

const MINUTE_MS: f64 = 60_000.0;
/// The time axis: 1 minute to 7 days, logarithmic.
const AXIS_MIN_MS: f64 = MINUTE_MS;
const AXIS_MAX_MS: f64 = 7.0 * 24.0 * 60.0 * MINUTE_MS;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn text(svg: &mut String, x: f64, y: f64, size: f64, anchor: &str, extra: &str, content: &str) {
    let _ = writeln!(
        svg,
        r#"<text x="{x:.1}" y="{y:.1}" font-size="{size}" text-anchor="{anchor}" {extra}>{}</text>"#,
        escape(content)
    );
}

/// The chart of `report` as an SVG document. `subtitle` says what was read.
pub fn svg(report: &Report, subtitle: &str) -> String {
    let segments: Vec<&GroupStats> = report.segments.iter().filter(|s| s.leads > 0).collect();
    let mut body = String::new();
    // Legend rows beyond the first push the panels down.
    let shift = legend(&mut body, &segments) - 84.0;
    let measure = report.measure.short();
    buckets_panel(&mut body, &segments, measure, 110.0 + shift, 300.0);
    touch_panel(&mut body, &segments, measure, 470.0 + shift, 240.0);
    let height = HEIGHT + shift;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="{FONT}" fill="#222">"##
    );
    let _ = writeln!(
        svg,
        r##"<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>"##
    );
    text(
        &mut svg,
        LEFT,
        34.0,
        20.0,
        "start",
        r#"font-weight="bold""#,
        "How fast are leads answered?",
    );
    text(
        &mut svg,
        LEFT,
        56.0,
        13.0,
        "start",
        r##"fill="#555""##,
        subtitle,
    );
    svg.push_str(&body);
    svg.push_str("</svg>\n");
    svg
}

/// One swatch per segment, wrapped onto more rows as needed; returns the last row's y.
fn legend(svg: &mut String, segments: &[&GroupStats]) -> f64 {
    let mut x = LEFT;
    let mut y = 84.0;
    for (i, segment) in segments.iter().enumerate() {
        let label = format!("{} ({} leads)", segment.segment, segment.leads);
        // Approximate width of the label: wide enough for DejaVu Sans at 13 px.
        let width = 20.0 + label.chars().count() as f64 * 7.6 + 22.0;
        if x > LEFT && x + width > WIDTH - RIGHT {
            x = LEFT;
            y += 22.0;
        }
        let _ = writeln!(
            svg,
            r#"<rect x="{x:.1}" y="{:.1}" width="14" height="14" rx="2" fill="{}"/>"#,
            y - 11.0,
            PALETTE[i % PALETTE.len()]
        );
        text(svg, x + 20.0, y, 13.0, "start", "", &label);
        x += width;
    }
    y
}

/// Grouped bars: for each bucket, one bar per segment (share of its
/// leads), cumulative up to 24 h as the table reads (`≤ 1 h` includes
/// `≤ 5 min`), so a bar and its table cell say the same number.
fn buckets_panel(svg: &mut String, segments: &[&GroupStats], measure: &str, top: f64, height: f64) {
    let buckets: Vec<Bucket> = Bucket::ALL
        .iter()
        .copied()
        .filter(|b| *b != Bucket::Waiting || segments.iter().any(|s| s.buckets[b] > 0))
        .collect();
    panel_title(
        svg,
        top,
        &format!("Time to {measure}: share of each segment's leads (cumulative to 24 h)"),
    );
    let plot_top = top + 22.0;
    let bottom = plot_top + height - 40.0;
    let plot_height = bottom - plot_top;
    let plot_width = WIDTH - LEFT - RIGHT;
    y_grid(svg, plot_top, bottom);
    let group_width = plot_width / buckets.len() as f64;
    let bar_width = ((group_width - 24.0) / segments.len().max(1) as f64).min(46.0);
    for (g, bucket) in buckets.iter().enumerate() {
        let group_left = LEFT + g as f64 * group_width;
        let bars_width = bar_width * segments.len() as f64;
        let first = group_left + (group_width - bars_width) / 2.0;
        for (i, segment) in segments.iter().enumerate() {
            let share = segment.share(*bucket);
            let h = share * plot_height;
            let x = first + i as f64 * bar_width;
            let _ = writeln!(
                svg,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{}"><title>{}: {:.0}%</title></rect>"#,
                x + 1.0,
                bottom - h,
                bar_width - 2.0,
                PALETTE[i % PALETTE.len()],
                escape(&segment.segment),
                share * 100.0
            );
            if share >= 0.005 {
                text(
                    svg,
                    x + bar_width / 2.0,
                    bottom - h - 4.0,
                    10.0,
                    "middle",
                    r##"fill="#333""##,
                    &format!("{:.0}%", share * 100.0),
                );
            }
        }
        text(
            svg,
            group_left + group_width / 2.0,
            bottom + 20.0,
            13.0,
            "middle",
            "",
            bucket.label(),
        );
    }
    axis_line(svg, bottom);
}

/// Share answered by each moment (a cumulative distribution), log time axis.
fn touch_panel(svg: &mut String, segments: &[&GroupStats], measure: &str, top: f64, height: f64) {
    panel_title(
        svg,
        top,
        &format!("Share of leads answered after … (time to {measure})"),
    );
    let plot_top = top + 22.0;
    let bottom = plot_top + height;
    let plot_width = WIDTH - LEFT - RIGHT;
    let x_of = |ms: f64| {
        let clamped = ms.clamp(AXIS_MIN_MS, AXIS_MAX_MS);
        LEFT + (clamped / AXIS_MIN_MS).ln() / (AXIS_MAX_MS / AXIS_MIN_MS).ln() * plot_width
    };
    y_grid(svg, plot_top, bottom);
    let ticks: [(f64, &str); 8] = [
        (1.0, "1 min"),
        (5.0, "5 min"),
        (15.0, "15 min"),
        (60.0, "1 h"),
        (240.0, "4 h"),
        (1440.0, "24 h"),
        (2.0 * 1440.0, "2 d"),
        (7.0 * 1440.0, "7 d"),
    ];
    for (minutes, label) in ticks {
        let x = x_of(minutes * MINUTE_MS);
        // The HBR cut-offs stand out from the other ticks.
        let strong = matches!(label, "5 min" | "1 h" | "24 h");
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{plot_top:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="{}" stroke-dasharray="{}"/>"##,
            if strong { "#999" } else { "#e3e3e3" },
            if strong { "4 3" } else { "none" }
        );
        text(svg, x, bottom + 18.0, 12.0, "middle", "", label);
    }
    for (i, segment) in segments.iter().enumerate() {
        let times = &segment.touch_times;
        let leads = segment.leads.max(1) as f64;
        let steps = 240;
        let mut points = Vec::with_capacity(steps + 1);
        for k in 0..=steps {
            let ms = AXIS_MIN_MS * (AXIS_MAX_MS / AXIS_MIN_MS).powf(k as f64 / steps as f64);
            let answered = times.partition_point(|t| (*t as f64) <= ms) as f64;
            let y = bottom - answered / leads * (bottom - plot_top);
            points.push(format!("{:.1},{y:.1}", x_of(ms)));
        }
        let colour = PALETTE[i % PALETTE.len()];
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2.5" points="{}"/>"#,
            points.join(" ")
        );
        // The median of the times drawn (the measure's).
        if let Some(p50) = super::model::percentile(times, 50) {
            let answered = times.partition_point(|t| *t <= p50) as f64;
            let y = bottom - answered / leads * (bottom - plot_top);
            let _ = writeln!(
                svg,
                r##"<circle cx="{:.1}" cy="{y:.1}" r="4.5" fill="{colour}" stroke="#fff" stroke-width="1.5"><title>{} median {}</title></circle>"##,
                x_of(p50 as f64),
                escape(&segment.segment),
                super::model::human_duration(p50)
            );
        }
    }
    axis_line(svg, bottom);
    text(
        svg,
        LEFT,
        bottom + 38.0,
        11.0,
        "start",
        r##"fill="#666""##,
        "Time since the lead arrived (log scale; under a minute counts at 1 min).",
    );
    text(
        svg,
        WIDTH - RIGHT,
        bottom + 38.0,
        11.0,
        "end",
        r##"fill="#666""##,
        &format!("Dots: each segment's median time to {measure}. Dashed: 5 min, 1 h, 24 h."),
    );
}

fn panel_title(svg: &mut String, top: f64, title: &str) {
    text(
        svg,
        LEFT,
        top,
        15.0,
        "start",
        r#"font-weight="bold""#,
        title,
    );
}

fn y_grid(svg: &mut String, top: f64, bottom: f64) {
    for pct in [0, 25, 50, 75, 100] {
        let y = bottom - f64::from(pct) / 100.0 * (bottom - top);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e3e3e3"/>"##,
            WIDTH - RIGHT
        );
        text(
            svg,
            LEFT - 8.0,
            y + 4.0,
            12.0,
            "end",
            r##"fill="#555""##,
            &format!("{pct}%"),
        );
    }
}

fn axis_line(svg: &mut String, y: f64) {
    let _ = writeln!(
        svg,
        r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#444"/>"##,
        WIDTH - RIGHT
    );
}

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("the chart's SVG did not parse: {0}")]
    Svg(String),
    #[error("cannot rasterise the chart: {0}")]
    Raster(String),
}

/// The SVG rasterised at twice its size, with the machine's fonts.
pub fn png(svg: &str) -> Result<Vec<u8>, ChartError> {
    let mut options = resvg::usvg::Options::default();
    options.fontdb_mut().load_system_fonts();
    let tree =
        resvg::usvg::Tree::from_str(svg, &options).map_err(|e| ChartError::Svg(e.to_string()))?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width() * 2, size.height() * 2)
        .ok_or_else(|| ChartError::Raster("empty image".into()))?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(2.0, 2.0),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| ChartError::Raster(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::model::LeadRecord;
    use super::*;

    fn report() -> Report {
        let records: Vec<LeadRecord> = (0..50)
            .map(|i| LeadRecord {
                segment: if i % 2 == 0 {
                    "federal"
                } else {
                    "<commercial>"
                }
                .into(),
                source: "website".into(),
                ms_to_first_touch: (i % 7 != 0).then_some(i64::from(i) * 90_000),
                ..LeadRecord::default()
            })
            .collect();
        Report::build(
            &records,
            30 * 86_400_000,
            super::super::model::Measure::Claim,
        )
    }

    #[test]
    fn the_svg_is_well_formed_and_escapes_names() {
        let svg = svg(&report(), "50 leads");
        let tree = resvg::usvg::Tree::from_str(&svg, &resvg::usvg::Options::default());
        assert!(tree.is_ok(), "{svg}");
        assert!(svg.contains("&lt;commercial&gt;"));
        assert!(!svg.contains("<commercial>"));
        assert_eq!(svg.matches("<polyline").count(), 2, "one curve per segment");
        assert!(svg.contains("≤ 5 min") && svg.contains("never"));
    }

    #[test]
    fn the_png_is_a_png() {
        let png = png(&svg(&report(), "50 leads")).expect("png");
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    }

    #[test]
    fn an_empty_report_still_draws() {
        let empty = Report::build(&[], 0, super::super::model::Measure::Claim);
        assert!(png(&svg(&empty, "no leads")).is_ok());
    }
}
