//! The template and the code agree: table keys and index, event pattern,
//! the environment each function reads, the binaries it names.

use firsthour::config::vars;
use firsthour::events::{EVENT_SOURCE, LEAD_RECEIVED};
use firsthour_aws::table as layout;
use firsthour_local::template::EnvValue;
use firsthour_tests::{root, template, test_parameter_env};

#[test]
fn table_matches_the_store_layout() {
    let table = template().table;
    assert_eq!(table.hash_key, layout::PK);
    assert_eq!(table.range_key.as_deref(), Some(layout::SK));
    assert_eq!(table.ttl_attribute.as_deref(), Some(layout::EXPIRES_AT));
    let due = table
        .indexes
        .iter()
        .find(|i| i.name == layout::DUE_INDEX)
        .expect("due index declared");
    assert_eq!(due.hash_key, layout::DUE_BUCKET);
    assert_eq!(due.range_key.as_deref(), Some(layout::DUE_AT));
    let attribute_type = |name: &str| {
        table
            .attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.attribute_type.clone())
            .unwrap_or_else(|| panic!("{name} not declared"))
    };
    assert_eq!(attribute_type(layout::PK), "S");
    assert_eq!(attribute_type(layout::SK), "S");
    assert_eq!(attribute_type(layout::DUE_BUCKET), "S");
    assert_eq!(attribute_type(layout::DUE_AT), "N");
}

#[test]
fn router_rules_split_federal_from_the_rest() {
    let model = template();
    let rule = |name: &str| {
        model
            .rules
            .iter()
            .find(|r| r.function == "FederalRouterFunction" && r.event_name == name)
            .unwrap_or_else(|| panic!("router rule {name}"))
    };
    for name in ["FederalLeadReceived", "OtherLeadReceived"] {
        let r = rule(name);
        assert_eq!(r.pattern["source"], serde_json::json!([EVENT_SOURCE]));
        assert_eq!(r.pattern["detail-type"], serde_json::json!([LEAD_RECEIVED]));
        assert_eq!(r.bus_ref.as_deref(), Some(model.bus_logical_id.as_str()));
    }
    assert_eq!(
        rule("FederalLeadReceived").pattern["detail"]["segment"],
        serde_json::json!(["federal"])
    );
    assert_eq!(
        rule("OtherLeadReceived").pattern["detail"]["segment"],
        serde_json::json!([{"anything-but": ["federal"]}])
    );
    let schedules: Vec<(&str, &str)> = model
        .schedules
        .iter()
        .map(|s| (s.function.as_str(), s.expression.as_str()))
        .collect();
    assert_eq!(
        schedules,
        [
            ("EscalationFunction", "rate(1 minute)"),
            ("RegistryRefreshFunction", "rate(1 day)")
        ]
    );
}

#[test]
fn every_function_gets_the_variables_it_reads() {
    let model = template();
    let known = [
        vars::TABLE_NAME,
        vars::EVENT_BUS_NAME,
        vars::METRICS_NAMESPACE,
        vars::CONFIG_FILE,
        vars::MAX_BODY_BYTES,
        vars::DEDUP_WINDOW_SECONDS,
        vars::DELIVERY_ID_TTL_SECONDS,
        vars::LEAD_RETENTION_DAYS,
        vars::REDRIVE_AFTER_SECONDS,
        vars::CORS_ORIGINS,
        vars::REDIRECT_ORIGINS,
        vars::THANK_YOU_URL,
        vars::LOG_LEVEL,
        vars::GOV_DOMAINS_FILE,
        vars::GOV_REGISTRY_REFRESH,
        vars::GOV_REGISTRY_URL,
        vars::SENDER_EMAIL,
        vars::SES_CONFIGURATION_SET,
        vars::PUBLIC_BASE_URL,
        vars::LINK_SIGNING_KEY,
        vars::TOUCH_API_TOKEN,
        vars::CLAIM_LINK_TTL_HOURS,
        vars::LADDER_SPEEDUP,
        vars::ESCALATION_CONCURRENCY,
        vars::LINK_SIGNING_KEY_SECRET_ARN,
        vars::FEDERAL_TEAM_EMAILS,
        vars::WEBHOOK_SECRETS_ARN,
        vars::FALLBACK_EMAILS,
        vars::TOUCH_API_TOKEN_SECRET_ARN,
        vars::INBOUND_DOMAIN,
        vars::OUTBOUND_SECRETS_ARN,
        vars::DELIVERY_QUEUE_URL,
        vars::DELIVERY_DEAD_LETTER_QUEUE_URL,
        vars::APPCONFIG_PATH,
        vars::RULES_REFRESH_SECONDS,
        // Read by AppConfig's extension, beside the function.
        "AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS",
    ];
    for function in &model.functions {
        for name in function.environment.keys() {
            assert!(
                known.contains(&name.as_str()),
                "{}: {name} is not read by the code",
                function.logical_id
            );
        }
        for required in [vars::TABLE_NAME, vars::EVENT_BUS_NAME] {
            assert!(
                function.environment.contains_key(required),
                "{}: {required} missing",
                function.logical_id
            );
        }
        assert_eq!(
            function.environment.get(vars::TABLE_NAME),
            Some(&EnvValue::Ref(model.table.logical_id.clone()))
        );
        assert_eq!(
            function.environment.get(vars::EVENT_BUS_NAME),
            Some(&EnvValue::Ref(model.bus_logical_id.clone()))
        );
        // Every `!Ref` names a parameter or a resource.
        for value in function.environment.values() {
            if let EnvValue::Ref(target) = value {
                let resources = model.raw.get("Resources").expect("resources");
                assert!(
                    model.raw["Parameters"].get(target.as_str()).is_some()
                        || resources.get(target.as_str()).is_some(),
                    "{target} is neither a parameter nor a resource"
                );
            }
        }
    }
}

#[test]
fn every_binary_named_by_the_template_is_a_workspace_crate() {
    for function in template().functions {
        let manifest = root()
            .join("functions")
            .join(&function.binary)
            .join("Cargo.toml");
        assert!(
            manifest.exists(),
            "{} names binary {}, but {} is missing",
            function.logical_id,
            function.binary,
            manifest.display()
        );
    }
}

#[test]
fn the_shipped_config_file_is_valid() {
    let path = root().join("infra/config/firsthour.toml");
    firsthour::config::FileConfig::load(
        &path,
        Some(&firsthour_tests::registry_snapshot()),
        &|name| test_parameter_env(name),
    )
    .expect("infra/config/firsthour.toml is valid");
}

/// Every IAM statement in the template, with where it is.
fn statements(value: &serde_yaml::Value, path: &str, out: &mut Vec<(String, serde_yaml::Value)>) {
    match value {
        serde_yaml::Value::Mapping(map) => {
            if map.contains_key("Effect")
                && (map.contains_key("Action") || map.contains_key("NotAction"))
            {
                out.push((path.to_owned(), value.clone()));
            }
            for (key, inner) in map {
                statements(
                    inner,
                    &format!("{path}.{}", key.as_str().unwrap_or("?")),
                    out,
                );
            }
        }
        serde_yaml::Value::Sequence(items) => {
            for (i, inner) in items.iter().enumerate() {
                statements(inner, &format!("{path}[{i}]"), out);
            }
        }
        serde_yaml::Value::Tagged(tagged) => statements(&tagged.value, path, out),
        _ => {}
    }
}

/// Plain strings of a value (through `!Sub`, lists and `!If` branches).
fn strings(value: &serde_yaml::Value, out: &mut Vec<String>) {
    match value {
        serde_yaml::Value::String(s) => out.push(s.clone()),
        serde_yaml::Value::Sequence(items) => items.iter().for_each(|i| strings(i, out)),
        serde_yaml::Value::Tagged(tagged) => strings(&tagged.value, out),
        serde_yaml::Value::Mapping(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

#[test]
fn no_iam_statement_uses_a_wildcard_action_or_resource() {
    let model = template();
    let mut found = Vec::new();
    statements(&model.raw["Resources"], "Resources", &mut found);
    assert!(found.len() >= 8, "found {} statements", found.len());
    for (path, statement) in found {
        assert!(
            statement.get("NotAction").is_none() && statement.get("NotResource").is_none(),
            "{path}: Not* widens access"
        );
        let mut actions = Vec::new();
        strings(&statement["Action"], &mut actions);
        for action in actions {
            assert!(!action.contains('*'), "{path}: wildcard action {action}");
        }
        let mut resources = Vec::new();
        if let Some(resource) = statement.get("Resource") {
            strings(resource, &mut resources);
        }
        for resource in resources {
            assert!(
                !resource.contains('*'),
                "{path}: wildcard resource {resource}"
            );
        }
    }
}

#[test]
fn every_function_has_its_own_log_group_alarms_and_least_privilege_policies() {
    let model = template();
    let resources = &model.raw["Resources"];
    for function in &model.functions {
        let properties = &resources[function.logical_id.as_str()]["Properties"];
        assert!(
            is_tagged(&properties["LoggingConfig"]["LogGroup"]),
            "{}: log group",
            function.logical_id
        );
        // The rules validator calls no AWS service: no policy of its own.
        let calls_nothing = function.binary == "rules-validator";
        assert!(
            properties["Policies"]
                .as_sequence()
                .is_some_and(|p| !p.is_empty() || calls_nothing),
            "{}: inline policies",
            function.logical_id
        );
        let alarms = resources
            .as_mapping()
            .into_iter()
            .flatten()
            .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
            .filter(|(_, r)| {
                matches!(&r["Properties"]["Dimensions"][0]["Value"],
                    serde_yaml::Value::Tagged(t) if t.value.as_str() == Some(function.logical_id.as_str()))
            })
            .count();
        assert!(
            alarms >= 2,
            "{}: errors and throttles alarms ({alarms})",
            function.logical_id
        );
    }
    let table = &resources[model.table.logical_id.as_str()];
    assert_eq!(table["DeletionPolicy"], "Retain");
    assert_eq!(table["Properties"]["DeletionProtectionEnabled"], true);
    assert_eq!(
        table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    for event in ["FederalLeadReceived", "OtherLeadReceived"] {
        let config =
            &resources["FederalRouterFunction"]["Properties"]["Events"][event]["Properties"];
        assert!(
            is_tagged(&config["DeadLetterConfig"]["Arn"]),
            "{event}: its own DLQ"
        );
        assert!(
            config["RetryPolicy"]["MaximumRetryAttempts"]
                .as_u64()
                .is_some(),
            "{event}: retry policy"
        );
    }
}

fn is_tagged(value: &serde_yaml::Value) -> bool {
    matches!(value, serde_yaml::Value::Tagged(_))
}

/// `!GetAtt X.Attr` (or `!GetAtt [X, Attr]`) → `(X, Attr)`.
fn get_att(value: &serde_yaml::Value) -> Option<(String, String)> {
    let serde_yaml::Value::Tagged(tagged) = value else {
        return None;
    };
    if tagged.tag != "GetAtt" {
        return None;
    }
    match &tagged.value {
        serde_yaml::Value::String(s) => {
            let (id, attr) = s.split_once('.')?;
            Some((id.to_owned(), attr.to_owned()))
        }
        serde_yaml::Value::Sequence(items) => Some((
            items.first()?.as_str()?.to_owned(),
            items.get(1)?.as_str()?.to_owned(),
        )),
        _ => None,
    }
}

/// The resources of one type, by logical id.
fn resources_of_type<'a>(
    resources: &'a serde_yaml::Value,
    wanted: &str,
) -> Vec<(String, &'a serde_yaml::Value)> {
    resources
        .as_mapping()
        .into_iter()
        .flatten()
        .filter(|(_, r)| r["Type"] == wanted)
        .map(|(id, r)| (id.as_str().unwrap_or_default().to_owned(), r))
        .collect()
}

#[test]
fn api_access_logs_are_json_without_query_string_body_or_client() {
    let model = template();
    let resources = &model.raw["Resources"];
    let settings = &resources["LeadApi"]["Properties"]["AccessLogSettings"];
    let format = settings["Format"].as_str().expect("access log format");
    let fields: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(format).expect("the access log format is one JSON object");
    for key in [
        "requestId",
        "routeKey",
        "status",
        "integrationError",
        "error",
    ] {
        assert!(fields.contains_key(key), "access logs carry {key}");
    }
    for (key, value) in &fields {
        let value = value.as_str().unwrap_or_default();
        assert!(
            value.starts_with("$context."),
            "{key}: {value} is not a context variable"
        );
        let lower = value.to_ascii_lowercase();
        // Claim links carry their signature in the query string; bodies and
        // the client's address or user agent are personal data.
        for forbidden in [
            "query", "body", "$input", "$request", "override", "identity",
        ] {
            assert!(
                !lower.contains(forbidden),
                "{key}: {value} may log the query string, a body or the client"
            );
        }
    }
    let (group, attribute) = get_att(&settings["DestinationArn"]).expect("!GetAtt LogGroup.Arn");
    assert_eq!(attribute, "Arn");
    assert_eq!(resources[group.as_str()]["Type"], "AWS::Logs::LogGroup");
    assert!(
        resources[group.as_str()]["Properties"]
            .get("RetentionInDays")
            .is_some(),
        "{group}: a retention period"
    );
    for function in &model.functions {
        let own =
            &resources[function.logical_id.as_str()]["Properties"]["LoggingConfig"]["LogGroup"];
        assert!(
            !matches!(own, serde_yaml::Value::Tagged(t) if t.value.as_str() == Some(group.as_str())),
            "access logs share {group} with {}",
            function.logical_id
        );
    }
}

#[test]
fn asynchronous_invocations_have_explicit_retries_and_the_router_a_failure_destination() {
    let model = template();
    let resources = &model.raw["Resources"];
    // EventBridge rules and the scheduler invoke asynchronously.
    let asynchronous: Vec<&str> = model
        .rules
        .iter()
        .map(|r| r.function.as_str())
        .chain(model.schedules.iter().map(|s| s.function.as_str()))
        .collect();
    assert!(asynchronous.contains(&"FederalRouterFunction"));
    for function in &asynchronous {
        let config = &resources[*function]["Properties"]["EventInvokeConfig"];
        let retries = config["MaximumRetryAttempts"].as_u64();
        assert!(
            retries.is_some_and(|r| r <= 2),
            "{function}: MaximumRetryAttempts (0-2)"
        );
        let age = config["MaximumEventAgeInSeconds"].as_u64();
        assert!(
            age.is_some_and(|a| (60..=21_600).contains(&a)),
            "{function}: MaximumEventAgeInSeconds (60-21600)"
        );
    }
    let on_failure = &resources["FederalRouterFunction"]["Properties"]["EventInvokeConfig"]["DestinationConfig"]
        ["OnFailure"];
    assert_eq!(on_failure["Type"], "SQS");
    let (queue, attribute) =
        get_att(&on_failure["Destination"]).expect("OnFailure: !GetAtt Queue.Arn");
    assert_eq!(attribute, "Arn");
    assert_eq!(
        resources[queue.as_str()]["Type"],
        "AWS::SQS::Queue",
        "{queue}"
    );
}

#[test]
fn every_queue_is_encrypted_kept_two_weeks_and_alarmed() {
    let model = template();
    let resources = &model.raw["Resources"];
    let queues = resources_of_type(resources, "AWS::SQS::Queue");
    assert!(
        queues.len() >= 3,
        "two rule DLQs and the router's failure queue"
    );
    let alarms = resources_of_type(resources, "AWS::CloudWatch::Alarm");
    for (id, queue) in &queues {
        let properties = &queue["Properties"];
        assert!(
            properties.get("KmsMasterKeyId").is_some()
                || properties["SqsManagedSseEnabled"] == true,
            "{id}: encrypted"
        );
        assert_eq!(
            properties["MessageRetentionPeriod"].as_u64(),
            Some(1_209_600),
            "{id}: kept 14 days"
        );
        // A queue a function reads always holds messages: it alarms when
        // one has waited an hour instead.
        let metric = if read_by_a_function(resources, id) {
            "ApproximateAgeOfOldestMessage"
        } else {
            "ApproximateNumberOfMessagesVisible"
        };
        assert!(
            alarms.iter().any(|(_, alarm)| {
                let p = &alarm["Properties"];
                p["Namespace"] == "AWS/SQS"
                    && p["MetricName"] == metric
                    && get_att(&p["Dimensions"][0]["Value"])
                        .is_some_and(|(q, attr)| q == *id && attr == "QueueName")
                    && p["AlarmActions"]
                        .as_sequence()
                        .is_some_and(|a| !a.is_empty())
            }),
            "{id}: an alarm when a message waits"
        );
    }
}

/// Whether a function's SQS event source reads `queue`.
fn read_by_a_function(resources: &serde_yaml::Value, queue: &str) -> bool {
    resources_of_type(resources, "AWS::Serverless::Function")
        .iter()
        .flat_map(|(_, f)| f["Properties"]["Events"].as_mapping().into_iter().flatten())
        .any(|(_, event)| {
            event["Type"] == "SQS"
                && get_att(&event["Properties"]["Queue"]).is_some_and(|(q, _)| q == queue)
        })
}

#[test]
fn the_router_and_the_sweep_reserve_concurrency_that_can_be_turned_off() {
    let model = template();
    let parameter = &model.raw["Parameters"]["ReservedConcurrency"];
    assert!(
        parameter["Default"].as_u64().is_some_and(|d| d > 0),
        "reserved by default"
    );
    assert_eq!(parameter["MinValue"].as_u64(), Some(0), "0 turns it off");
    let condition =
        serde_json::to_value(&model.raw["Conditions"]["ReservesConcurrency"]).expect("plain data");
    assert!(
        condition.to_string().contains("ReservedConcurrency"),
        "ReservesConcurrency tests the parameter: {condition}"
    );
    for function in ["FederalRouterFunction", "EscalationFunction"] {
        let reserved =
            &model.raw["Resources"][function]["Properties"]["ReservedConcurrentExecutions"];
        let serde_yaml::Value::Tagged(tagged) = reserved else {
            panic!(
                "{function}: ReservedConcurrentExecutions is !If [ReservesConcurrency, …, !Ref AWS::NoValue]"
            );
        };
        assert_eq!(tagged.tag, "If", "{function}");
        let branches = tagged.value.as_sequence().expect("!If list");
        assert_eq!(branches[0], "ReservesConcurrency", "{function}");
        assert!(
            matches!(&branches[2], serde_yaml::Value::Tagged(t) if t.tag == "Ref" && t.value == "AWS::NoValue"),
            "{function}: nothing reserved when turned off"
        );
    }
}

#[test]
fn every_checkov_skip_names_its_check_and_gives_a_reason() {
    let text = std::fs::read_to_string(root().join("infra/template.yaml")).expect("template");
    let mut skips = 0;
    for (n, line) in text.lines().enumerate() {
        let Some((_, rest)) = line.split_once("checkov:skip=") else {
            continue;
        };
        skips += 1;
        let (check, reason) = rest
            .split_once(':')
            .unwrap_or_else(|| panic!("line {}: checkov:skip=CHECK:reason", n + 1));
        assert!(
            check.starts_with("CKV")
                && check.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "line {}: {check} is not a check id",
            n + 1
        );
        assert!(
            reason.split_whitespace().count() >= 8,
            "line {}: {check} needs a real reason, not {reason:?}",
            n + 1
        );
        assert!(
            line.starts_with("    #"),
            "line {}: a skip belongs inside its resource",
            n + 1
        );
    }
    assert!(skips > 0, "the template documents its skipped checks");
}

#[test]
fn the_api_routes_every_method_the_intake_answers() {
    let model = template();
    let events = &model.raw["Resources"]["IntakeFunction"]["Properties"]["Events"];
    let routes: Vec<(String, String)> = events
        .as_mapping()
        .into_iter()
        .flatten()
        .filter(|(_, e)| e["Type"] == "HttpApi")
        .map(|(_, e)| {
            let p = &e["Properties"];
            (
                p["Method"].as_str().unwrap_or_default().to_owned(),
                p["Path"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for (method, path) in [
        ("POST", "/leads"),
        ("POST", "/leads/{source}"),
        ("OPTIONS", "/leads/{source}"),
        ("GET", "/thank-you"),
        // A claim link's GET shows the lead; the Claim button POSTs.
        ("GET", "/leads/{id}/claim"),
        ("POST", "/leads/{id}/claim"),
        ("POST", "/leads/{id}/touch"),
    ] {
        assert!(
            routes.iter().any(|(m, p)| m == method && p == path),
            "no route {method} {path}"
        );
    }
}

#[test]
fn the_registry_refresh_runs_daily_writes_only_registry_items_and_alarms() {
    let model = template();
    let resources = &model.raw["Resources"];
    let refresh = model
        .function_by_binary("registry-refresh")
        .expect("the refresh function");
    assert_eq!(
        refresh.environment.get(vars::GOV_REGISTRY_URL),
        Some(&EnvValue::Ref("GovRegistryUrl".into()))
    );
    assert_eq!(
        model.raw["Parameters"]["GovRegistryUrl"]["Default"],
        "https://manage.get.gov/api/v1/get-report/current-full"
    );
    let intake = model.function_by_binary("intake").expect("intake");
    assert_eq!(
        intake.environment.get(vars::GOV_REGISTRY_REFRESH),
        Some(&EnvValue::Literal("on".into()))
    );
    let mut found = Vec::new();
    statements(
        &resources[refresh.logical_id.as_str()]["Properties"]["Policies"],
        &refresh.logical_id,
        &mut found,
    );
    assert_eq!(found.len(), 1, "{found:?}");
    let (_, statement) = &found[0];
    assert_eq!(
        statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"],
        serde_yaml::Value::Sequence(vec!["REGISTRY".into()]),
        "the refresh writes the registry's items only"
    );
    let errors = &resources["RegistryRefreshErrorsAlarm"]["Properties"];
    assert_eq!(errors["MetricName"], "Errors");
    assert!(is_tagged(&errors["AlarmActions"][0]));
}

#[test]
fn rules_deployed_in_appconfig_are_validated_watched_and_read_by_the_functions_that_route() {
    let model = template();
    let resources = &model.raw["Resources"];
    let condition = |id: &str| resources[id]["Condition"].as_str().map(str::to_owned);
    for id in [
        "RulesApplication",
        "RulesEnvironment",
        "RulesProfile",
        "RulesDeploymentStrategy",
        "RulesValidatorFunction",
        "RulesValidatorPermission",
    ] {
        assert_eq!(
            condition(id).as_deref(),
            Some("LiveRules"),
            "{id}: only with AppConfig"
        );
    }
    let validators = &resources["RulesProfile"]["Properties"]["Validators"];
    assert_eq!(validators[0]["Type"], "LAMBDA");
    assert_eq!(
        get_att(&validators[0]["Content"]),
        Some(("RulesValidatorFunction".to_owned(), "Arn".to_owned()))
    );
    assert_eq!(
        resources["RulesProfile"]["Properties"]["LocationUri"],
        "hosted"
    );
    let monitors = resources["RulesEnvironment"]["Properties"]["Monitors"]
        .as_sequence()
        .expect("monitors");
    assert!(!monitors.is_empty(), "a deployment rolls back on an alarm");
    assert_eq!(
        resources["RulesValidatorPermission"]["Properties"]["Principal"],
        "appconfig.amazonaws.com"
    );
    for function in [
        "IntakeFunction",
        "FederalRouterFunction",
        "EscalationFunction",
        "DeliverFunction",
    ] {
        let properties = &resources[function]["Properties"];
        let path = serde_json::to_value(
            &properties["Environment"]["Variables"]["FIRSTHOUR_APPCONFIG_PATH"],
        )
        .expect("plain data")
        .to_string();
        assert!(
            path.contains("LiveRules") && path.contains("/configurations/rules"),
            "{function}: {path}"
        );
        let policies = serde_json::to_value(&properties["Policies"])
            .expect("plain data")
            .to_string();
        assert!(
            policies.contains("appconfig:GetLatestConfiguration")
                && policies.contains("configuration/${RulesProfile}"),
            "{function}: reads exactly the rules profile"
        );
        let layers = serde_json::to_value(&properties["Layers"])
            .expect("plain data")
            .to_string();
        assert!(
            layers.contains("AppConfigExtensionLayerArn"),
            "{function}: the extension"
        );
    }
}

#[test]
fn schedules_are_eventbridge_rules_and_arns_name_their_partition() {
    let model = template();
    let resources = &model.raw["Resources"];
    for (id, function) in resources_of_type(resources, "AWS::Serverless::Function") {
        for (_, event) in function["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
        {
            assert_ne!(
                event["Type"], "ScheduleV2",
                "{id}: EventBridge Scheduler is not in every partition; a scheduled rule is"
            );
        }
    }
    let text = std::fs::read_to_string(root().join("infra/template.yaml")).expect("template");
    assert!(
        !text.contains("arn:aws:"),
        "ARNs are built with ${{AWS::Partition}} (GovCloud is aws-us-gov)"
    );
    assert_eq!(model.schedules.len(), 2);
}
