//! The pure core of smart routings: routings, versions and their lifecycle rules, action trees
//! and their editing operations, the action catalogue, compiling a version into diagnostics,
//! and the routing document format.
//!
//! Nothing here does IO, reads the clock or draws randomness: `now` and fresh identifiers are
//! always passed in by the caller.

pub mod access;
pub mod campaigns;
pub mod cases;
pub mod catalogue;
pub mod compile;
pub mod crm;
pub mod customer;
pub mod database;
pub mod diff;
pub mod document;
pub mod effect;
pub mod email;
pub mod entry_point;
pub mod exec;
pub mod fields;
pub mod ids;
pub mod interaction;
pub mod invoices;
pub mod lifecycle;
pub mod model;
pub mod objects;
pub mod payments;
pub mod surveys;
pub mod tree;
pub mod variables;
pub mod web_service;

pub use compile::{Diagnostic, Severity};
pub use model::*;
