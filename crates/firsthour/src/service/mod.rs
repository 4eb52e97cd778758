//! The use cases, each over the ports: accepting a delivery as a lead
//! ([`intake`]), and a rep's claim or a reported touch ([`touch`]).
//! (Routing and the escalation sweep are [`crate::router`] and
//! [`crate::escalation`].)

pub mod away;
pub mod inbound;
pub mod intake;
pub mod registry;
pub mod slack;
pub mod touch;
