//! The read path Query and Scan share: building one page of results
//! (`page`) under DynamoDB's Limit, 1 MB and LastEvaluatedKey rules. The
//! operations plan the key ranges; the page decides what each entry read
//! contributes.

pub mod page;
