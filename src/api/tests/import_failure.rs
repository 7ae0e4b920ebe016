//! An import that ends FAILED never exposes its table as ACTIVE: the table
//! goes from CREATING straight to removed. Every catalog version the
//! coordinator persists is checked, so even a momentary ACTIVE is caught.

use std::cell::RefCell;
use std::rc::Rc;

use super::index_crash::{CATALOG_HISTORY, SHARDS, start, table_def};
use crate::api::shard::transfers::{ImportRecord, TransferStatus};
use crate::api::table::ddl;
use crate::catalog::{Catalog, CatalogCommand, TableStatus};
use crate::engine::io::dma::block_on;
use crate::engine::io::mem::MemFs;

#[test]
fn a_failed_import_goes_from_creating_to_gone_never_active() {
    let fss: Vec<MemFs> = (0..SHARDS).map(|_| MemFs::new()).collect();
    let catalog_file = Rc::new(RefCell::new(Vec::new()));
    block_on(async move {
        let shards = start(&fss, &catalog_file).await;
        CATALOG_HISTORY.with(|h| *h.borrow_mut() = Some(Vec::new()));
        let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/tab/import/01".to_string();
        let mut def = table_def();
        def.status = TableStatus::Creating;
        def.settings.import_arn = Some(arn.clone());
        let table = ddl::apply(&shards[0], CatalogCommand::Create(def))
            .await
            .expect("create the import's table");
        assert_eq!(table.status, TableStatus::Creating);
        let record = ImportRecord {
            arn,
            id: "01".into(),
            table_arn: "arn:aws:dynamodb:us-east-1:000000000000:table/tab".into(),
            table_name: table.name.clone(),
            table_uuid: table.uuid.clone(),
            table_id: table.id,
            status: TransferStatus::InProgress,
            start_time: 0.0,
            end_time: None,
            client_token: None,
            fingerprint: String::new(),
            bucket: "bucket".into(),
            bucket_owner: None,
            key_prefix: String::new(),
            format: "DYNAMODB_JSON".into(),
            compression: "NONE".into(),
            csv_delimiter: None,
            csv_header: None,
            creation_parameters_json: "{}".into(),
            processed_bytes: 0,
            processed_items: 0,
            imported_items: 0,
            error_count: 0,
            failure_code: None,
            failure_message: None,
        };
        // This harness has no export root: listing the source fails, so
        // the import ends FAILED.
        crate::api::transfer::import::load(shards[0].clone(), record, table.clone()).await;
        let history = CATALOG_HISTORY
            .with(|h| h.borrow_mut().take())
            .expect("recorded");
        assert!(history.len() >= 2, "created, then removed");
        for (i, bytes) in history.iter().enumerate() {
            let catalog = Catalog::from_bytes(bytes).expect("catalog parses");
            if let Some(t) = catalog.table(&table.name) {
                assert_eq!(
                    t.status,
                    TableStatus::Creating,
                    "catalog version {i}: a FAILED import's table was {:?}",
                    t.status
                );
            }
        }
        let last = Catalog::from_bytes(history.last().expect("a version")).expect("parses");
        assert!(last.table(&table.name).is_none(), "the table is removed");
        assert!(shards[0].catalog().table(&table.name).is_none());
    })
    .expect("executor");
}
