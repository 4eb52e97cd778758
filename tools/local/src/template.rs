//! Reads `infra/template.yaml`, so the local stack is created from the same
//! definitions that are deployed: the table's keys and indexes, the event
//! rules' patterns, the schedules and every function's environment.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml::Value;

/// Problems reading the template, naming the resource and property.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not valid YAML: {source}")]
    Yaml {
        path: String,
        source: serde_yaml::Error,
    },
    #[error("template: {0}")]
    Shape(String),
}

/// One key attribute: name and DynamoDB type (`S`, `N`, `B`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAttribute {
    pub name: String,
    pub attribute_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDef {
    pub name: String,
    pub hash_key: String,
    pub range_key: Option<String>,
    pub projection: String,
}

/// The lead table as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    pub logical_id: String,
    pub attributes: Vec<KeyAttribute>,
    pub hash_key: String,
    pub range_key: Option<String>,
    pub indexes: Vec<IndexDef>,
    pub ttl_attribute: Option<String>,
}

/// An `EventBridgeRule` event of a function: pattern → function.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleDef {
    pub function: String,
    pub event_name: String,
    pub bus_ref: Option<String>,
    pub pattern: serde_json::Value,
}

/// A `Schedule`/`ScheduleV2` event of a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleDef {
    pub function: String,
    pub expression: String,
}

/// A generated secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretDef {
    pub logical_id: String,
    pub json_template: Option<String>,
    pub json_key: Option<String>,
}

/// A function: its logical id, the cargo binary it runs, and its environment
/// (values still unresolved: literal strings, or `Ref` names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionDef {
    pub logical_id: String,
    pub binary: String,
    pub environment: BTreeMap<String, EnvValue>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    Literal(String),
    /// `!Ref X`: a parameter or a resource.
    Ref(String),
    /// `!Sub "…${X}…"`: a string with references.
    Sub(String),
}

/// What the local stack needs from the template.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateModel {
    pub table: TableDef,
    pub bus_logical_id: String,
    pub functions: Vec<FunctionDef>,
    pub rules: Vec<RuleDef>,
    pub schedules: Vec<ScheduleDef>,
    /// Parameter defaults.
    pub parameters: BTreeMap<String, String>,
    /// `AWS::SecretsManager::Secret` resources (generated values), with the
    /// JSON template and key their value is generated into, if any.
    pub secrets: Vec<SecretDef>,
    /// The raw template, for checks that want more.
    pub raw: Value,
}

fn shape(message: impl Into<String>) -> TemplateError {
    TemplateError::Shape(message.into())
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn env_value(value: &Value) -> Option<EnvValue> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => text(&tagged.value).map(EnvValue::Ref),
        Value::Tagged(tagged) if tagged.tag == "Sub" => text(&tagged.value).map(EnvValue::Sub),
        Value::Mapping(map) if map.len() == 1 => map.get("Ref").and_then(text).map(EnvValue::Ref),
        other => text(other).map(EnvValue::Literal),
    }
}

/// `!Ref X` or `{Ref: X}` → `X`.
fn ref_name(value: &Value) -> Option<String> {
    match env_value(value)? {
        EnvValue::Ref(name) => Some(name),
        EnvValue::Literal(_) | EnvValue::Sub(_) => None,
    }
}

fn to_json(value: &Value) -> Result<serde_json::Value, TemplateError> {
    serde_json::to_value(value).map_err(|err| shape(format!("pattern is not plain data: {err}")))
}

impl TemplateModel {
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let raw: Value = serde_yaml::from_str(&text).map_err(|source| TemplateError::Yaml {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_value(raw)
    }

    pub fn from_value(raw: Value) -> Result<Self, TemplateError> {
        let resources = raw
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or_else(|| shape("no Resources"))?;
        let of_type = |wanted: &'static str| {
            resources
                .iter()
                .filter(move |(_, res)| res.get("Type").and_then(Value::as_str) == Some(wanted))
                .map(|(id, res)| (id.as_str().unwrap_or_default(), res))
        };
        let (table_id, table) = of_type("AWS::DynamoDB::Table")
            .next()
            .ok_or_else(|| shape("no AWS::DynamoDB::Table"))?;
        let table = table_def(table_id, table)?;
        let (bus_id, _) = of_type("AWS::Events::EventBus")
            .next()
            .ok_or_else(|| shape("no AWS::Events::EventBus"))?;

        let global_env = raw
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(|f| f.get("Environment"))
            .and_then(|e| e.get("Variables"))
            .and_then(Value::as_mapping)
            .cloned()
            .unwrap_or_default();
        let mut functions = Vec::new();
        let mut rules = Vec::new();
        let mut schedules = Vec::new();
        for (id, function) in of_type("AWS::Serverless::Function") {
            let binary = function
                .get("Metadata")
                .and_then(|m| m.get("BuildProperties"))
                .and_then(|b| b.get("Binary"))
                .and_then(text)
                .ok_or_else(|| {
                    shape(format!("{id}: Metadata.BuildProperties.Binary is missing"))
                })?;
            let properties = function.get("Properties");
            let own_env = properties
                .and_then(|p| p.get("Environment"))
                .and_then(|e| e.get("Variables"))
                .and_then(Value::as_mapping)
                .cloned()
                .unwrap_or_default();
            let mut environment = BTreeMap::new();
            for (name, value) in global_env.iter().chain(own_env.iter()) {
                let name = name
                    .as_str()
                    .ok_or_else(|| shape(format!("{id}: environment variable name")))?;
                let value = env_value(value)
                    .ok_or_else(|| shape(format!("{id}: {name} must be a string or !Ref")))?;
                environment.insert(name.to_owned(), value);
            }
            for (event_name, event) in properties
                .and_then(|p| p.get("Events"))
                .and_then(Value::as_mapping)
                .into_iter()
                .flatten()
            {
                let event_name = event_name.as_str().unwrap_or_default().to_owned();
                let event_props = event.get("Properties");
                match event.get("Type").and_then(Value::as_str) {
                    Some("EventBridgeRule") => {
                        let pattern =
                            event_props.and_then(|p| p.get("Pattern")).ok_or_else(|| {
                                shape(format!("{id}.{event_name}: Pattern is missing"))
                            })?;
                        rules.push(RuleDef {
                            function: id.to_owned(),
                            event_name,
                            bus_ref: event_props
                                .and_then(|p| p.get("EventBusName"))
                                .and_then(ref_name),
                            pattern: to_json(pattern)?,
                        });
                    }
                    Some("Schedule" | "ScheduleV2") => schedules.push(ScheduleDef {
                        function: id.to_owned(),
                        expression: event_props
                            .and_then(|p| p.get("Schedule").or_else(|| p.get("ScheduleExpression")))
                            .and_then(text)
                            .ok_or_else(|| {
                                shape(format!("{id}.{event_name}: schedule expression is missing"))
                            })?,
                    }),
                    _ => {}
                }
            }
            functions.push(FunctionDef {
                logical_id: id.to_owned(),
                binary,
                environment,
            });
        }
        let parameters = raw
            .get("Parameters")
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
            .filter_map(|(name, p)| {
                Some((name.as_str()?.to_owned(), p.get("Default").and_then(text)?))
            })
            .collect();
        let secrets = of_type("AWS::SecretsManager::Secret")
            .map(|(id, secret)| {
                let generate = secret
                    .get("Properties")
                    .and_then(|p| p.get("GenerateSecretString"));
                SecretDef {
                    logical_id: id.to_owned(),
                    json_template: generate
                        .and_then(|g| g.get("SecretStringTemplate"))
                        .and_then(text),
                    json_key: generate
                        .and_then(|g| g.get("GenerateStringKey"))
                        .and_then(text),
                }
            })
            .collect();
        Ok(Self {
            table,
            secrets,
            bus_logical_id: bus_id.to_owned(),
            functions,
            rules,
            schedules,
            parameters,
            raw,
        })
    }

    pub fn function(&self, logical_id: &str) -> Option<&FunctionDef> {
        self.functions.iter().find(|f| f.logical_id == logical_id)
    }

    pub fn function_by_binary(&self, binary: &str) -> Option<&FunctionDef> {
        self.functions.iter().find(|f| f.binary == binary)
    }
}

fn key_schema(
    value: Option<&Value>,
    owner: &str,
) -> Result<(String, Option<String>), TemplateError> {
    let mut hash = None;
    let mut range = None;
    for key in value.and_then(Value::as_sequence).into_iter().flatten() {
        let name = key.get("AttributeName").and_then(text);
        match key.get("KeyType").and_then(Value::as_str) {
            Some("HASH") => hash = name,
            Some("RANGE") => range = name,
            _ => return Err(shape(format!("{owner}: KeyType must be HASH or RANGE"))),
        }
    }
    Ok((
        hash.ok_or_else(|| shape(format!("{owner}: no HASH key")))?,
        range,
    ))
}

fn table_def(id: &str, table: &Value) -> Result<TableDef, TemplateError> {
    let props = table
        .get("Properties")
        .ok_or_else(|| shape(format!("{id}: no Properties")))?;
    let attributes = props
        .get("AttributeDefinitions")
        .and_then(Value::as_sequence)
        .ok_or_else(|| shape(format!("{id}: no AttributeDefinitions")))?
        .iter()
        .map(|a| {
            Some(KeyAttribute {
                name: a.get("AttributeName").and_then(text)?,
                attribute_type: a.get("AttributeType").and_then(text)?,
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            shape(format!(
                "{id}: AttributeDefinitions need AttributeName and AttributeType"
            ))
        })?;
    let (hash_key, range_key) = key_schema(props.get("KeySchema"), id)?;
    let mut indexes = Vec::new();
    for index in props
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let name = index
            .get("IndexName")
            .and_then(text)
            .ok_or_else(|| shape(format!("{id}: index without IndexName")))?;
        let (hash, range) = key_schema(index.get("KeySchema"), &name)?;
        indexes.push(IndexDef {
            projection: index
                .get("Projection")
                .and_then(|p| p.get("ProjectionType"))
                .and_then(text)
                .unwrap_or_else(|| "ALL".into()),
            name,
            hash_key: hash,
            range_key: range,
        });
    }
    let ttl_attribute = props
        .get("TimeToLiveSpecification")
        .filter(|t| t.get("Enabled").and_then(Value::as_bool) == Some(true))
        .and_then(|t| t.get("AttributeName"))
        .and_then(text);
    Ok(TableDef {
        logical_id: id.to_owned(),
        attributes,
        hash_key,
        range_key,
        indexes,
        ttl_attribute,
    })
}
