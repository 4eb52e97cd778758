use std::path::Path;

use super::*;
use crate::config::FileConfig;

const SHIPPED: &str = include_str!("../../../../infra/config/firsthour.toml");

fn shipped() -> Routing {
    FileConfig::parse_with_env(
        SHIPPED,
        Path::new("infra/config/firsthour.toml"),
        &shipped_env,
    )
    .expect("shipped config is valid")
    .routing
}

/// The template parameters the shipped config reads.
pub fn shipped_env(name: &str) -> Option<String> {
    match name {
        "FIRSTHOUR_FEDERAL_TEAM_EMAILS" => Some("federal-sales@example.com".into()),
        "FIRSTHOUR_FALLBACK_EMAILS" => Some("sales-ops@example.com".into()),
        _ => None,
    }
}

fn field(name: &str, value: &str) -> RawField {
    RawField::new(name, value)
}

fn facts<'a>(
    sector: Sector,
    source: &'a str,
    domain: Option<&'a str>,
    fields: &'a [RawField],
) -> LeadFacts<'a> {
    LeadFacts {
        sector,
        source,
        email_domain: domain,
        fields,
        agency: None,
        domain_type: None,
        service: None,
    }
}

#[test]
fn first_match_wins_in_order() {
    let routing = shipped();
    let federal = routing.route(&facts(Sector::Federal, "web", Some("nasa.gov"), &[]));
    assert_eq!(
        (federal.rule.as_str(), federal.segment.as_str()),
        ("federal", "federal")
    );
    assert_eq!(federal.priority, Priority::Urgent);
    assert_eq!(federal.assignment, Assignment::RoundRobin);
    assert_eq!(federal.recipients, vec!["federal-sales@example.com"]);
    assert!(
        federal.reason.contains("sector federal"),
        "{}",
        federal.reason
    );

    let customer = routing.route(&facts(
        Sector::Commercial,
        "web",
        Some("eu.customer.example.com"),
        &[],
    ));
    assert_eq!(customer.rule, "existing-customers");

    let big = [field("Employees", "12,000")];
    let enterprise = routing.route(&facts(Sector::Commercial, "web", Some("bigco.com"), &big));
    assert_eq!(enterprise.rule, "enterprise");
    assert!(
        enterprise.reason.contains("employees 12000"),
        "{}",
        enterprise.reason
    );

    let small = [field("employees", "40")];
    assert_eq!(
        routing
            .route(&facts(Sector::Commercial, "web", Some("small.io"), &small))
            .rule,
        "commercial"
    );
    assert_eq!(
        routing
            .route(&facts(Sector::StateLocal, "web", Some("ca.gov"), &[]))
            .rule,
        "state-and-local"
    );
}

#[test]
fn unmatched_leads_reach_the_explicit_fallback() {
    let config = r#"
[[rules]]
name = "federal"
segment = "federal"
recipients = ["fed@example.com"]
when = { sector = ["federal"] }

[fallback]
name = "catch-all"
segment = "unmatched"
recipients = ["ops@example.com"]
"#;
    let routing = FileConfig::parse(config, Path::new("f.toml"))
        .expect("valid")
        .routing;
    let decision = routing.route(&facts(Sector::Commercial, "web", None, &[]));
    assert!(decision.fallback);
    assert_eq!(decision.rule, FALLBACK);
    assert_eq!(decision.recipients, vec!["ops@example.com"]);
}

#[test]
fn field_values_match_case_insensitively_and_multi_select() {
    let config = r#"
[[rules]]
name = "analytics-us"
segment = "analytics"
recipients = ["a@example.com"]
when = { fields = { "product interest" = ["Analytics"], country = ["US", "United States"] } }

[fallback]
name = "fallback"
segment = "unmatched"
recipients = ["ops@example.com"]
"#;
    let routing = FileConfig::parse(config, Path::new("f.toml"))
        .expect("valid")
        .routing;
    let mut labelled = field("01FKQZ2EB4C2V1Q0ZRZC8VGRHXY", "Support plan, analytics");
    labelled.label = Some("Product interest".into());
    let fields = [labelled, field("country", "united states")];
    assert_eq!(
        routing
            .route(&facts(Sector::Commercial, "typeform", None, &fields))
            .rule,
        "analytics-us"
    );
    let other = [
        field("product_interest", "Support plan"),
        field("country", "US"),
    ];
    assert!(
        routing
            .route(&facts(Sector::Commercial, "web", None, &other))
            .fallback
    );
}

#[test]
fn invalid_files_name_the_line_and_field() {
    let cases = [
        (
            "[[rules]]\nname = \"x\"\nsegment = \"s\"\nrecipients = [\"not-an-email\"]\n[fallback]\nname=\"f\"\nsegment=\"u\"\nrecipients=[\"o@example.com\"]\n",
            "line 4",
            "not-an-email",
        ),
        (
            "[[rules]]\nname = \"x\"\nsegment = \"s\"\nteam = \"ghosts\"\nrecipients = [\"a@example.com\"]\n[fallback]\nname=\"f\"\nsegment=\"u\"\nrecipients=[\"o@example.com\"]\n",
            "line 4",
            "ghosts",
        ),
        (
            "[[rules]]\nname = \"x\"\nsegment = \"s\"\nrecipients = [\"a@example.com\"]\n",
            "line 1",
            "[fallback]",
        ),
        (
            "[[rules]]\nname = \"x\"\nsegment = \"s\"\nrecipients = [\"a@example.com\"]\nwhen = { sector = [\"feds\"] }\n",
            "line 5",
            "feds",
        ),
        (
            "[ladders.x]\ntiers = [ { after = \"5 parsecs\" } ]\n",
            "line 2",
            "5 parsecs",
        ),
        (
            "[ladders.x]\ntiers = [ { after = \"1h\" }, { after = \"5m\" } ]\n",
            "line 2",
            "later",
        ),
        (
            "[teams.t]\nreps = [ { email = \"a@example.com\", active = false } ]\n[[rules]]\nname = \"x\"\nsegment = \"s\"\nteam = \"t\"\nassignment = \"round_robin\"\n[fallback]\nname=\"f\"\nsegment=\"u\"\nrecipients=[\"o@example.com\"]\n",
            "line 6",
            "no active rep",
        ),
        (
            "[[rules]]\nname = \"x\"\nsegment = \"s\"\nrecipients = [\"a@example.com\"]\nladder = \"nope\"\n[fallback]\nname=\"f\"\nsegment=\"u\"\nrecipients=[\"o@example.com\"]\n",
            "line 5",
            "nope",
        ),
        (
            "[[rules]]\nname = \"x\"\nsegment = \"s\"\nrecipients = [\"a@example.com\"]\nwhen = { sector = [\"federal\"], colour = \"red\" }\n",
            "line 5",
            "colour",
        ),
    ];
    for (text, line, needle) in cases {
        let err = FileConfig::parse(text, Path::new("rules.toml"))
            .expect_err(needle)
            .to_string();
        assert!(
            err.contains(line) && err.contains(needle),
            "expected {line} and {needle:?} in: {err}"
        );
        assert!(err.contains("rules.toml"), "{err}");
    }
}

#[test]
fn round_robin_skips_inactive_reps_and_weights_interleave() {
    let routing = shipped();
    let federal = &routing.teams["federal"];
    let turns: Vec<&str> = (1..=6)
        .map(|t| {
            federal
                .rep_for_turn(t)
                .map(|r| r.email.as_str())
                .unwrap_or("-")
        })
        .collect();
    assert_eq!(
        turns,
        [
            "fed-rep-1@example.com",
            "fed-rep-2@example.com",
            "fed-rep-3@example.com",
            "fed-rep-1@example.com",
            "fed-rep-2@example.com",
            "fed-rep-3@example.com"
        ]
    );
    let commercial = &routing.teams["commercial"];
    let turns: Vec<&str> = (1..=6)
        .map(|t| {
            commercial
                .rep_for_turn(t)
                .map(|r| r.email.as_str())
                .unwrap_or("-")
        })
        .collect();
    assert_eq!(
        turns.iter().filter(|e| **e == "ae-1@example.com").count(),
        4
    );
    assert_eq!(
        turns[..3],
        ["ae-1@example.com", "ae-2@example.com", "ae-1@example.com"]
    );
}

#[test]
fn ladders_compile_with_their_audiences() {
    let routing = shipped();
    let federal = &routing.ladders["federal"];
    assert_eq!(federal.tiers.len(), 4);
    assert_eq!(federal.tiers[0].after, Duration::from_secs(300));
    assert_eq!(federal.tiers[0].notify, vec![Audience::Owner]);
    assert!(!federal.tiers[0].reassign);
    assert!(federal.tiers[1].reassign, "reassigns at 10 minutes");
    assert_eq!(federal.tiers[1].notify, vec![Audience::Owner]);
    assert_eq!(
        federal.tiers[3].notify,
        vec![Audience::Address("federal-director@example.com".into())]
    );
}

#[test]
fn rule_domains_are_normalised_once_when_compiled() {
    let text = r#"
[[rules]]
name = "partner"
segment = "partner"
recipients = ["partners@example.com"]
when = { email_domains = [" Partner.Example.COM. "] }

[fallback]
name = "fallback"
segment = "other"
recipients = ["sales@example.com"]
"#;
    let routing = FileConfig::parse(text, Path::new("firsthour.toml"))
        .expect("valid")
        .routing;
    let rule = routing.rule("partner").expect("rule");
    assert_eq!(rule.when.email_domains, vec!["partner.example.com"]);
    for domain in ["partner.example.com", "EU.Partner.Example.com"] {
        let decision = routing.route(&facts(Sector::Commercial, "web", Some(domain), &[]));
        assert_eq!(decision.rule, "partner", "{domain}");
    }
    let other = routing.route(&facts(
        Sector::Commercial,
        "web",
        Some("notpartner.example.com"),
        &[],
    ));
    assert_eq!(other.rule, "fallback");
}

/// Another address of the form (not the lead's own, which decides the
/// sector) can be matched by its field's name and domain.
#[test]
fn a_rule_matches_another_address_by_its_field_and_domain() {
    let text = r#"
[[rules]]
name = "state-department-referral"
segment = "federal"
recipients = ["federal-sales@example.com"]
when = { fields_email_domains = { "Work Email" = [" State.GOV. "] } }

[fallback]
name = "fallback"
segment = "other"
recipients = ["sales@example.com"]
"#;
    let routing = FileConfig::parse(text, Path::new("firsthour.toml"))
        .expect("valid")
        .routing;
    let rule = routing.rule("state-department-referral").expect("rule");
    assert_eq!(
        rule.when.fields_email_domains["Work Email"],
        vec!["state.gov"]
    );
    let route = |fields: &[RawField]| {
        routing.route(&facts(Sector::Commercial, "web", Some("acme.com"), fields))
    };
    for address in ["x@state.gov", "x@Consular.State.gov", " x@state.gov. "] {
        let fields = [field("email", "a@acme.com"), field("work_email", address)];
        let decision = route(&fields);
        assert_eq!(decision.rule, "state-department-referral", "{address}");
        assert!(
            decision.reason.contains("Work Email domain ") && !decision.reason.contains("x@"),
            "the reason names the domain, not the address: {}",
            decision.reason
        );
    }
    for fields in [
        vec![field("email", "a@state.gov")],
        vec![field("work_email", "x@notstate.gov")],
        vec![field("work_email", "x@st\u{430}te.gov")],
        vec![field("work_email", "state.gov")],
        vec![field("work_email", "x@state.gov.evil.com")],
        vec![],
    ] {
        assert_eq!(route(&fields).rule, "fallback", "{fields:?}");
    }
}

/// The commented example in the shipped config is a valid rule.
#[test]
fn the_shipped_example_of_another_address_rule_compiles() {
    let example: String = SHIPPED
        .lines()
        .skip_while(|line| *line != "# [[rules]]")
        .take_while(|line| line.starts_with("# "))
        .map(|line| format!("{}\n", &line[2..]))
        .collect();
    assert!(example.contains("fields_email_domains"), "{example}");
    let text = format!("{SHIPPED}\n{example}");
    let routing = FileConfig::parse_with_env(&text, Path::new("firsthour.toml"), &shipped_env)
        .expect("the example is valid")
        .routing;
    let rule = routing.rules.last().expect("the example rule");
    let fields = [
        field("email", "a@acme.com"),
        field("work_email", "x@state.gov"),
    ];
    let lead = facts(Sector::Commercial, "web", Some("acme.com"), &fields);
    assert!(matches(&rule.when, &lead, false).is_some(), "{rule:?}");
}

/// The shipped config's commented DoD example is a valid rule, and takes
/// `.mil` leads (and only them) when placed above the federal rule.
#[test]
fn the_shipped_example_of_a_dod_team_compiles() {
    let example: String = SHIPPED
        .lines()
        .skip_while(|line| *line != "# name = \"federal-dod\"")
        .take_while(|line| line.starts_with("# "))
        .map(|line| format!("{}\n", &line[2..]))
        .collect();
    assert!(example.contains("agency"), "{example}");
    let text = SHIPPED.replacen(
        "[[rules]]\nname = \"federal\"",
        &format!("[[rules]]\n{example}\n[[rules]]\nname = \"federal\""),
        1,
    );
    let routing = FileConfig::parse_with_env(&text, Path::new("firsthour.toml"), &shipped_env)
        .expect("the example is valid")
        .routing;
    let dod = LeadFacts {
        agency: Some("Department of Defense"),
        service: Some("army"),
        ..facts(Sector::Federal, "web", Some("army.mil"), &[])
    };
    assert_eq!(routing.route(&dod).rule, "federal-dod");
    let va = LeadFacts {
        agency: Some("Department of Veterans Affairs"),
        domain_type: Some("federal_executive"),
        ..facts(Sector::Federal, "web", Some("va.gov"), &[])
    };
    assert_eq!(routing.route(&va).rule, "federal");
}

#[test]
fn rules_match_the_agency_the_domain_type_and_the_service() {
    let registry = crate::sector::GovRegistry::built_in();
    let facts_of = |address: &str| {
        let domain = address.rsplit('@').next().unwrap_or_default();
        crate::sector::decide(
            crate::sector::SectorInputs {
                email_domain: Some(domain),
                ..Default::default()
            },
            Some(&registry),
        )
    };
    let routing = FileConfig::parse(
        r#"
        [[rules]]
        name = "dod"
        segment = "federal_dod"
        recipients = ["dod@example.com"]
        when = { agency = ["department of defense"] }

        [[rules]]
        name = "va"
        segment = "federal_va"
        recipients = ["va@example.com"]
        when = { agency = ["Department of Veterans Affairs"] }

        [[rules]]
        name = "hill"
        segment = "federal_legislative"
        recipients = ["hill@example.com"]
        when = { domain_type = ["federal_legislative", "federal_judicial"] }

        [[rules]]
        name = "civilian"
        segment = "federal_civilian"
        recipients = ["civ@example.com"]
        when = { sector = ["federal"], domain_type = ["federal_executive"] }

        [fallback]
        name = "catch-all"
        segment = "other"
        recipients = ["ops@example.com"]
        "#,
        Path::new("f.toml"),
    )
    .expect("valid")
    .routing;
    let rule_for = |address: &str| {
        let sector = facts_of(address);
        let domain = address.rsplit('@').next();
        routing
            .route(&LeadFacts {
                sector: sector.sector,
                source: "web",
                email_domain: domain,
                fields: &[],
                agency: sector.agency.as_deref(),
                domain_type: sector.domain_type.as_deref(),
                service: sector.service.as_deref(),
            })
            .rule
    };
    assert_eq!(rule_for("jane.doe@va.gov"), "va");
    assert_eq!(rule_for("ana@us.af.mil"), "dod");
    assert_eq!(rule_for("sgt@mail.mil"), "dod");
    assert_eq!(rule_for("aide@house.gov"), "hill");
    assert_eq!(rule_for("clerk@uscourts.gov"), "hill");
    assert_eq!(rule_for("k.lee@jpl.nasa.gov"), "civilian");
    assert_eq!(rule_for("buyer@gsa.gov"), "civilian");
    assert_eq!(rule_for("someone@ca.gov"), FALLBACK);

    let af = facts_of("ana@us.af.mil");
    assert_eq!(
        (af.agency.as_deref(), af.service.as_deref()),
        (Some("Department of Defense"), Some("air_force"))
    );
    let cg = facts_of("bm2@uscg.mil");
    assert_eq!(cg.service.as_deref(), Some("coast_guard"));
    let nasa = facts_of("k.lee@jpl.nasa.gov");
    assert_eq!(nasa.domain_type.as_deref(), Some("federal_executive"));
    assert!(nasa.agency.is_some_and(|a| a.contains("Aeronautics")));
}

#[test]
fn domain_types_read_as_rule_words() {
    use crate::sector::domain_type_words;
    assert_eq!(
        domain_type_words("Federal - Executive"),
        "federal_executive"
    );
    assert_eq!(
        domain_type_words("State or territory"),
        "state_or_territory"
    );
    assert_eq!(domain_type_words("City - Election"), "city_election");
    assert_eq!(domain_type_words(""), "");
}

/// Two reps in New York hours and one in Los Angeles hours (the rep's own
/// calendar over the team's), and what happens when nobody is working.
fn team_with_hours(when_none: &str) -> Team {
    let text = format!(
        r#"
[calendars.new-york]
time_zone = "America/New_York"
days = ["mon", "tue", "wed", "thu", "fri"]
hours = "09:00-17:00"

[calendars.los-angeles]
time_zone = "America/Los_Angeles"
days = ["mon", "tue", "wed", "thu", "fri"]
hours = "09:00-17:00"

[teams.federal]
calendar = "new-york"
when_none_available = "{when_none}"
reps = [
  {{ email = "east-1@example.com" }},
  {{ email = "east-2@example.com" }},
  {{ email = "west-1@example.com", calendar = "los-angeles" }},
]

[fallback]
name = "fallback"
segment = "other"
recipients = ["sales@example.com"]
"#
    );
    FileConfig::parse(&text, Path::new("firsthour.toml"))
        .expect("valid")
        .routing
        .teams["federal"]
        .clone()
}

fn owners(team: &Team, at: time::OffsetDateTime, turns: u64) -> Vec<String> {
    (1..=turns)
        .filter_map(|turn| team.owner_for_turn(turn, at).map(|r| r.email.clone()))
        .collect()
}

#[test]
fn leads_go_round_the_reps_within_their_hours() {
    use time::macros::datetime;
    let team = team_with_hours("any");
    // Monday 10:00 in New York is 07:00 in Los Angeles: only the east works.
    let morning = datetime!(2026-11-30 15:00 UTC);
    assert_eq!(
        owners(&team, morning, 4),
        [
            "east-1@example.com",
            "east-2@example.com",
            "east-1@example.com",
            "east-2@example.com"
        ]
    );
    // Monday 13:00 in New York, 10:00 in Los Angeles: all three in turn.
    let midday = datetime!(2026-11-30 18:00 UTC);
    assert_eq!(owners(&team, midday, 3).len(), 3);
    assert!(owners(&team, midday, 3).contains(&"west-1@example.com".to_owned()));
    // Monday 18:00 in New York, 15:00 in Los Angeles: only the west.
    let evening = datetime!(2026-11-30 23:00 UTC);
    assert_eq!(owners(&team, evening, 3), ["west-1@example.com"; 3]);
    // Saturday: nobody works; `any` keeps today's rotation.
    let saturday = datetime!(2026-12-05 15:00 UTC);
    assert_eq!(owners(&team, saturday, 3).len(), 3);
}

#[test]
fn with_nobody_working_next_available_takes_whoever_starts_first() {
    use time::macros::datetime;
    let team = team_with_hours("next_available");
    // Saturday: New York opens Monday 09:00, three hours before Los Angeles.
    let saturday = datetime!(2026-12-05 15:00 UTC);
    let picked = owners(&team, saturday, 2);
    assert!(picked.iter().all(|o| o.starts_with("east-")), "{picked:?}");
    // Monday 22:30 UTC: New York closed at 22:00 UTC, Los Angeles still open.
    let late = datetime!(2026-11-30 22:30 UTC);
    assert_eq!(owners(&team, late, 2), ["west-1@example.com"; 2]);
}

#[test]
fn a_calendar_a_team_names_must_exist() {
    let text = r#"
[teams.federal]
calendar = "nowhere"
reps = [ { email = "a@example.com" } ]
[fallback]
name = "fallback"
segment = "other"
recipients = ["sales@example.com"]
"#;
    let err = FileConfig::parse(text, Path::new("firsthour.toml")).expect_err("refused");
    assert!(err.to_string().contains("calendar \"nowhere\""), "{err}");
    let text = text.replace(
        "calendar = \"nowhere\"",
        "when_none_available = \"sometimes\"",
    );
    assert!(FileConfig::parse(&text, Path::new("firsthour.toml")).is_err());
}
