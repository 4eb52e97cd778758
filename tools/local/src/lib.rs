//! firsthour's local runner: the real function binaries on an AWS emulator.

pub mod appconfig;
pub mod bootstrap;
pub mod chat;
pub mod gateway;
pub mod mail;
pub mod run;
pub mod runtime_api;
pub mod site;
pub mod smtp;
pub mod stand_ins;
pub mod template;
