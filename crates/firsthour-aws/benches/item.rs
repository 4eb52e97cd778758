//! What the store writes for one lead beyond the domain's work: the
//! record laid out as the table's item, measured as DynamoDB counts it and
//! fitted within the item budget, and the content key. The same four
//! webhooks as the domain's CPU bench.
//!
//! `cargo bench -p firsthour-aws --bench item`; medians land in
//! `target/criterion/cpu_stages/<content type>_item/`.

#[path = "../../firsthour/benches/cases/mod.rs"]
mod cases;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use firsthour::intake::normalise;
use firsthour::lead::RequestMeta;
use firsthour::record::LeadRecord;
use firsthour::service::intake::classify;
use firsthour_aws::table::LeadItem;
use time::OffsetDateTime;

fn item(c: &mut Criterion) {
    let (file, registry) = cases::config();
    let now = OffsetDateTime::now_utc();
    let mut group = c.benchmark_group("cpu_stages");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for case in &cases::cases(now, registry) {
        let meta = RequestMeta::default();
        let lead = normalise(
            &case.body,
            Some(&case.content_type),
            case.context(&meta, &file, now),
        )
        .expect("a valid lead")
        .lead;
        let (sector, route) = classify(&lead, &file);
        group.bench_function(format!("{}/item", case.name), |b| {
            b.iter(|| {
                let record =
                    LeadRecord::new_received(black_box(&lead), &sector, &route, now, now, None);
                (
                    LeadItem::stored(record),
                    firsthour::dedup::content_key(&lead, &file.spam),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, item);
criterion_main!(benches);
