//! firsthour: answer every web lead inside the first hour.
//!
//! The domain, in plain Rust with no AWS SDK: small ports abstract storage,
//! events, mail and the clock, and the `firsthour-aws` crate implements them
//! (DynamoDB, EventBridge, SES, Secrets Manager). The Lambda crates in
//! `functions/` wire the two together at cold start.
//!
//! A map of the modules, in the order a lead meets them:
//!
//! * [`intake`]: a webhook body to a [`lead::Lead`] (vendor shapes, encodings,
//!   bounds); [`service::intake`]: the intake use case (normalise, spam and
//!   rate checks, store first, then publish); [`signature`] verifies
//!   senders, [`spam`] catches bots.
//! * [`sector`]: government or not (the get.gov registry, organisation-type
//!   answers); [`routing`]: rules, teams, round robin, ladders; [`calendar`]:
//!   business hours and holidays.
//! * [`record`]: a stored lead as the use cases read it (contact,
//!   submission, sector and route decisions, SLA state); [`dedup`]: the
//!   delivery and content keys that make a resubmission a duplicate;
//!   [`ports`]: what the use cases need from storage, events, mail and the
//!   clock; [`memory`]: those storage ports in memory, with the DynamoDB
//!   adapter's semantics (for tests); [`events`]: what goes on the bus.
//! * [`router`]: the first notification; [`escalation`]: the sweep up the
//!   ladder; [`notify`] and [`html`]: the emails and pages; [`claim`]: signed
//!   claim links; [`email`]: validated addresses.
//! * [`config`]: environment and the rules file, read once at cold start;
//!   [`metrics`] and [`telemetry`]: EMF metrics and JSON logs; [`text`]:
//!   single-line, visible, bounded text.

pub mod calendar;
pub mod channel;
pub mod claim;
pub mod config;
pub mod dedup;
pub mod deliver;
pub mod email;
pub mod escalation;
pub mod events;
pub mod html;
pub mod intake;
pub mod lead;
pub mod memory;
pub mod metrics;
pub mod notify;
pub mod ports;
pub mod record;
pub mod reply;
pub mod roster;
pub mod router;
pub mod routing;
pub mod sector;
pub mod service;
pub mod signature;
pub mod spam;
pub mod telemetry;
pub mod text;
