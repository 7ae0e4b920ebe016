//! Tables: an item's primary key and placement (`key`), the
//! TableDescription (`describe`), the coordinator's DDL executor (`ddl`),
//! which performs the effects of a pure catalog transition, the settings
//! and tag members of table requests (`options`) and table ARNs (`arn`).

pub mod arn;
pub mod ddl;
pub mod describe;
pub mod key;
pub mod options;
