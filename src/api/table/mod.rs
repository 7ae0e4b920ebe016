//! Tables: an item's primary key and placement (`key`), the
//! TableDescription (`describe`), and the coordinator's DDL executor
//! (`ddl`), which performs the effects of a pure catalog transition.

pub mod ddl;
pub mod describe;
pub mod key;
