//! CPU per lead: verify the signature, parse, normalise, classify (sector)
//! and route (rule) one realistic ~2 KB webhook of each content type (and a
//! Tally form response, read by the generic rules for unmapped tools), with
//! the shipped config (`infra/config/firsthour.toml`) and the built-in get.gov
//! registry (or the file `FIRSTHOUR_GOV_DOMAINS_FILE` names). Target: at most
//! 20 µs median per lead.
//!
//! `cargo bench -p firsthour --bench cpu_per_lead -- cpu_per_lead/`; medians land in
//! `target/criterion/cpu_per_lead/<content type>/new/estimates.json`
//! (`scripts/bench.sh` reads them). The `cpu_stages` group times each stage
//! alone, to see where the time goes; `gov_registry` times loading a
//! registry file (what the built-in snapshot saves at cold start) and a lookup
//! in each copy; `large_bodies` times
//! parsing ~250 KB forms (Elementor's `fields[id][value]` against plain names).

mod cases;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use firsthour::config::FileConfig;
use firsthour::intake::normalise;
use firsthour::lead::RequestMeta;
use firsthour::sector::{GovRegistry, Sector};
use firsthour::service::intake::classify;
use firsthour::signature::SignedRequest;
use time::OffsetDateTime;

use cases::{Case, cases, config, registry_path, snapshot_path};

/// The work the intake does on one delivery before it talks to DynamoDB:
/// verify, parse, normalise, classify, route.
fn process(case: &Case, file: &FileConfig, now: OffsetDateTime) -> (Sector, String, usize) {
    let lookup = |name: &str| case.header(name);
    let verified = case
        .verifier
        .verify(&SignedRequest {
            method: "POST",
            url: "https://api.example.com/leads",
            body: &case.body,
            header: &lookup,
            now,
        })
        .expect("signature verifies");
    let meta = RequestMeta {
        client_ip: Some("198.51.100.7".into()),
        user_agent: Some("Mozilla/5.0".into()),
        delivery_id: verified.delivery_id,
    };
    let context = case.context(&meta, file, now);
    let normalised =
        normalise(&case.body, Some(&case.content_type), context).expect("a valid lead");
    let (sector, route) = classify(&normalised.lead, file);
    (sector.sector, route.rule, normalised.lead.fields.len())
}

fn cpu_per_lead(c: &mut Criterion) {
    let (file, registry) = config();
    let now = OffsetDateTime::now_utc();
    let cases = cases(now, registry);
    eprintln!(
        "cpu_per_lead: .gov registry {}",
        if registry {
            file.registry
                .as_deref()
                .map_or_else(String::new, |r| r.copy().to_string())
        } else {
            "not found (gov domains unverified)".to_owned()
        }
    );
    let mut group = c.benchmark_group("cpu_per_lead");
    group
        .sample_size(60)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(1));
    for case in &cases {
        let (sector, rule, fields) = process(case, &file, now);
        assert_eq!(sector, case.expected, "{}: sector", case.name);
        eprintln!(
            "cpu_per_lead/{}: {} bytes, {} fields, {} -> rule {rule}",
            case.name,
            case.body.len(),
            fields,
            sector.as_str()
        );
        group.bench_function(case.name, |b| {
            b.iter(|| black_box(process(black_box(case), &file, now)))
        });
    }
    group.finish();
}

/// Where the time goes, per content type: each stage alone
/// (`cargo bench -p firsthour --bench cpu_per_lead -- cpu_stages`).
fn cpu_stages(c: &mut Criterion) {
    let (file, registry) = config();
    let now = OffsetDateTime::now_utc();
    let cases = cases(now, registry);
    let mut group = c.benchmark_group("cpu_stages");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for case in &cases {
        let lookup = |name: &str| case.header(name);
        group.bench_function(format!("{}/verify", case.name), |b| {
            b.iter(|| {
                case.verifier.verify(&SignedRequest {
                    method: "POST",
                    url: "https://api.example.com/leads",
                    body: black_box(&case.body),
                    header: &lookup,
                    now,
                })
            })
        });
        group.bench_function(format!("{}/parse", case.name), |b| {
            b.iter(|| {
                firsthour::intake::body::parse_body(black_box(&case.body), Some(&case.content_type))
            })
        });
        let meta = RequestMeta::default();
        let context = case.context(&meta, &file, now);
        group.bench_function(format!("{}/normalise", case.name), |b| {
            b.iter(|| normalise(black_box(&case.body), Some(&case.content_type), context))
        });
        let lead = normalise(&case.body, Some(&case.content_type), context)
            .expect("a valid lead")
            .lead;
        group.bench_function(format!("{}/classify", case.name), |b| {
            b.iter(|| classify(black_box(&lead), &file))
        });
        // The record and deduplication key the store is handed (its item
        // layout and fitting: `cargo bench -p firsthour-aws --bench item`).
        let (sector, route) = classify(&lead, &file);
        group.bench_function(format!("{}/record", case.name), |b| {
            b.iter(|| {
                let record = firsthour::record::LeadRecord::new_received(
                    black_box(&lead),
                    &sector,
                    &route,
                    now,
                    now,
                    None,
                );
                (record, firsthour::dedup::content_key(&lead, &file.spam))
            })
        });
    }
    group.finish();
}

/// Loading a get.gov registry file, which the built-in snapshot spares every
/// cold start, and one lookup in each copy (a mix of registered domains,
/// subdomains and unregistered `.gov`s)
/// (`cargo bench -p firsthour --bench cpu_per_lead -- gov_registry`).
fn gov_registry(c: &mut Criterion) {
    let path = registry_path().unwrap_or_else(snapshot_path);
    let Ok(bytes) = std::fs::read(&path) else {
        eprintln!("gov_registry: {} unreadable, skipped", path.display());
        return;
    };
    let mut group = c.benchmark_group("gov_registry");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("load", |b| {
        b.iter_batched(
            || bytes.clone(),
            |bytes| GovRegistry::from_csv(bytes).expect("the registry loads"),
            BatchSize::LargeInput,
        )
    });
    // A refreshed copy as the intake reads it at cold start: the snapshot
    // with 300 rows changed or added and 50 gone (months of registrations).
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let mut rows: Vec<String> = text.lines().skip(1).map(str::to_owned).collect();
    rows.truncate(rows.len().saturating_sub(50));
    for (i, row) in rows.iter_mut().step_by(100).enumerate() {
        row.push_str(&format!(" (renamed {i})"));
    }
    for i in 0..150 {
        rows.push(format!(
            "new-agency-{i}.gov,Federal - Executive,New Agency {i}"
        ));
    }
    let download = format!(
        "Domain name,Domain type,Organization name\n{}\n",
        rows.join("\n")
    );
    let (stored, _) = firsthour::sector::refresh::check(
        download.as_bytes(),
        &GovRegistry::built_in(),
        &firsthour::sector::refresh::RefreshChecks::default(),
        "bench",
        jiff::Timestamp::UNIX_EPOCH,
    )
    .expect("the refreshed copy passes");
    group.bench_function("refreshed_load", |b| {
        b.iter(|| stored.registry().expect("the refreshed copy loads"))
    });
    let refreshed = stored.registry().expect("the refreshed copy loads");
    let loaded = GovRegistry::from_csv(bytes).expect("the registry loads");
    let domains = [
        "gsa.gov",
        "jpl.nasa.gov",
        "va.gov",
        "ca.gov",
        "mail.house.gov",
        "29palms.gov",
        "zionsville-in.gov",
        "not-registered.gov",
    ];
    for (name, registry) in [
        ("built_in", GovRegistry::built_in()),
        ("loaded", loaded),
        ("refreshed", refreshed),
    ] {
        group.bench_function(format!("lookup_8/{name}"), |b| {
            b.iter(|| {
                domains
                    .iter()
                    .filter(|domain| registry.lookup(black_box(domain)).is_some())
                    .count()
            })
        });
    }
    group.finish();
}

/// Parsing ~250 KB form bodies: 12,000 Elementor ids (`fields[id][value]`)
/// against 12,000 plain fields of about the same size
/// (`cargo bench -p firsthour --bench cpu_per_lead -- large_bodies`).
/// Reading the Elementor ids was quadratic (0.8 s); both should be linear.
fn large_bodies(c: &mut Criterion) {
    let elementor: String = (0..12_000)
        .map(|i| format!("fields[{i:x}][value]=x&"))
        .chain(["fields[email][value]=ada%40example.org".to_owned()])
        .collect();
    let plain: String = (0..12_000)
        .map(|i| format!("field_{i:05x}=value&"))
        .chain(["email=ada%40example.org".to_owned()])
        .collect();
    let mut group = c.benchmark_group("large_bodies");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for (name, body) in [
        ("elementor_12000_ids", &elementor),
        ("plain_12000_fields", &plain),
    ] {
        eprintln!("large_bodies/{name}: {} bytes", body.len());
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                firsthour::intake::body::parse_body(
                    black_box(body.as_bytes()),
                    Some("application/x-www-form-urlencoded"),
                )
                .expect("parses")
            })
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    cpu_per_lead,
    cpu_stages,
    gov_registry,
    large_bodies
);
criterion_main!(benches);
