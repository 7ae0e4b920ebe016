//! The data model shared by the API and the shard engines: attribute values
//! and numbers, the binary item codec and the order-preserving key encoding.

pub mod codec;
pub mod key;
pub mod number;
pub mod value;

pub use number::Number;
pub use value::{Item, Map, Value, ValueError};
