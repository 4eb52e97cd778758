"""The Python peer of the intake, for the cold-start comparison only.

What someone would write instead of firsthour's intake: boto3 clients for
DynamoDB and EventBridge and the same config file (and .gov registry) read at
init, one handler that stores the lead with its two dedup markers in one
transaction and publishes LeadReceived, run by the official runtime interface
client (`python -m awslambdaric handler.handle`). Not part of the product.
"""

import base64
import csv
import hashlib
import json
import os
import time
import tomllib
import uuid

import boto3

with open(os.environ["FIRSTHOUR_CONFIG_FILE"], "rb") as config_file:
    CONFIG = tomllib.load(config_file)

REGISTRY = {}
_registry_path = os.environ.get("FIRSTHOUR_GOV_DOMAINS_FILE")
if _registry_path:
    with open(_registry_path, newline="", encoding="utf-8") as registry_file:
        for row in csv.DictReader(registry_file):
            domain = (row.get("Domain name") or row.get("Domain Name") or "").strip().lower()
            if domain:
                REGISTRY[domain] = row

TABLE = os.environ["FIRSTHOUR_TABLE_NAME"]
BUS = os.environ["FIRSTHOUR_EVENT_BUS_NAME"]
DYNAMODB = boto3.client("dynamodb")
EVENTS = boto3.client("events")


def sector_of(domain):
    if domain.endswith(".mil") or domain.endswith(".fed.us"):
        return "federal"
    parts = domain.split(".")
    for i in range(len(parts) - 1):
        row = REGISTRY.get(".".join(parts[i:]))
        if row:
            return "federal" if row.get("Domain type", "").startswith("Federal") else "state_local"
    if domain.endswith(".gov"):
        return "government_unverified"
    return "education" if domain.endswith(".edu") else "commercial"


def handle(event, context):
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8")
    fields = json.loads(body)
    email = str(fields.get("email", "")).strip().lower()
    domain = email.rpartition("@")[2]
    sector = sector_of(domain)
    segment = "federal" if sector == "federal" else "commercial"
    lead_id = uuid.uuid4().hex
    now = int(time.time())
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    content = hashlib.sha256(json.dumps(fields, sort_keys=True).encode("utf-8")).hexdigest()
    lead = {
        "pk": {"S": f"LEAD#{lead_id}"},
        "sk": {"S": "LEAD"},
        "entity": {"S": "lead"},
        "email": {"S": email},
        "email_domain": {"S": domain},
        "sector": {"S": sector},
        "segment": {"S": segment},
        "fields": {"S": body},
    }
    markers = [
        {"pk": {"S": f"DEDUP#{kind}#{key}"}, "sk": {"S": "DEDUP"}, "lead_id": {"S": lead_id},
         "expires_at": {"N": str(now + 600)}}
        for kind, key in (("delivery", digest), ("content", content))
    ]
    # The per-IP rate limit of an unsigned form, as the intake counts it.
    source_ip = event.get("requestContext", {}).get("http", {}).get("sourceIp", "")
    DYNAMODB.update_item(
        TableName=TABLE,
        Key={"pk": {"S": f"RATE#{hashlib.sha256(source_ip.encode()).hexdigest()}#{now // 60}"},
             "sk": {"S": "RATE"}},
        UpdateExpression="SET entity = :entity, #expires = :expires ADD hits :one",
        ExpressionAttributeNames={"#expires": "expires_at"},
        ExpressionAttributeValues={":entity": {"S": "rate"}, ":expires": {"N": str(now + 180)},
                                   ":one": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )
    DYNAMODB.transact_write_items(
        TransactItems=[{"Put": {"TableName": TABLE, "Item": lead,
                                "ConditionExpression": "attribute_not_exists(pk)"}}]
        + [{"Put": {"TableName": TABLE, "Item": marker,
                    "ConditionExpression": "attribute_not_exists(pk) OR #expires < :now",
                    "ExpressionAttributeNames": {"#expires": "expires_at"},
                    "ExpressionAttributeValues": {":now": {"N": str(now)}}}}
           for marker in markers]
    )
    EVENTS.put_events(Entries=[{
        "EventBusName": BUS,
        "Source": "firsthour",
        "DetailType": "LeadReceived",
        "Detail": json.dumps({"lead_id": lead_id, "email_domain": domain, "segment": segment}),
    }])
    return {
        "statusCode": 202,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"lead_id": lead_id, "status": "accepted"}),
    }
