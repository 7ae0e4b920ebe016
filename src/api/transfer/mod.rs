//! Export to and import from S3-layout folders: ExportTableToPointInTime,
//! DescribeExport, ListExports, ImportTable, DescribeImport, ListImports.
//!
//! There is no S3 here: the export root (`export_root`, `--export-root`)
//! stands for S3, a bucket is a folder under it and a key a relative path,
//! so the files an export writes are laid out byte for byte as DynamoDB
//! writes them to S3 and move between AWS and Dynacore with any S3 copy
//! tool:
//!
//! ```text
//! <root>/<S3Bucket>/<S3Prefix>/AWSDynamoDB/<ExportId>/
//!     _started                 empty, written first
//!     manifest-summary.json    the export (written last: its presence means COMPLETED)
//!     manifest-files.json      one JSON line per data file
//!     data/<shard>-<hex>.json.gz | .ion.gz   gzip'd lines (`lines`)
//! ```
//!
//! A FULL export is one instant across all shards: it reuses the backup
//! cut (`backup::create::cut`: gates closed, one snapshot per shard), and
//! each shard writes its snapshot's items into one data file in the
//! background task queue (`export`). An import (`import`) creates its
//! table through the DDL path, CREATING, loads every data file under the
//! key prefix through the one write path (so indexes are maintained), and
//! makes it ACTIVE.
//!
//! The records of exports and imports live in `<root>/.dynacore/`
//! (`exports/<id>.json`, `imports/<id>.json`, written atomically; no
//! bucket name starts with a dot). All file work goes through the
//! runtime's file jobs (`Services::export_files`).

pub mod describe;
pub mod export;
pub mod import;
pub mod layout;
pub mod lines;
pub mod page;
pub mod registry;
