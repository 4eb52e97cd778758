//! The use cases, each over the ports: accepting a delivery as a lead.
//! (Routing and the escalation sweep are [`crate::router`] and
//! [`crate::escalation`].)

pub mod intake;
