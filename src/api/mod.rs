//! The DynamoDB API layer: protocol, one file per operation, expressions.
//!
//! (The expression engine lives in `expr`; the lead's framework adds the rest.)

pub mod expr;
