//! Tables: an item's primary key and placement (`key`), the
//! TableDescription (`describe`), the coordinator's DDL executor (`ddl`),
//! which performs the effects of a pure catalog transition, the settings
//! and tag members of table requests (`options`), table ARNs (`arn`) and
//! what the resource-based policy operations share (`policies`).

pub mod arn;
pub mod ddl;
pub mod describe;
pub mod key;
pub mod options;
pub mod policies;
