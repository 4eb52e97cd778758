//! firsthour: answer every web lead inside the first hour.
//!
//! The domain (leads, intake parsing, routing, SLA ladders, email rendering)
//! is plain Rust here; small ports abstract storage, events, mail and the
//! clock, and the AWS adapters implement them.

pub mod aws;
pub mod calendar;
pub mod claim;
pub mod config;
pub mod email;
pub mod escalation;
pub mod events;
pub mod html;
pub mod intake;
pub mod lead;
pub mod metrics;
pub mod notify;
pub mod ports;
pub mod router;
pub mod routing;
pub mod sector;
pub mod signature;
pub mod spam;
pub mod store;
pub mod telemetry;
