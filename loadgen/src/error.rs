//! Typed errors of the load generator.
//!
//! One enum for the whole crate: the binary is small and every failure ends
//! the same way (a message on stderr and a non-zero exit), so finer layering
//! would buy nothing. Per-request failures during a run are *not* errors of
//! this type: they are counted by DynamoDB `__type` in the statistics.

use std::io;

/// Everything that can stop a load-generator command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadgenError {
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("invalid endpoint URL {url:?}: {reason}")]
    InvalidEndpoint { url: String, reason: &'static str },
    #[error("I/O error talking to {target}: {source}")]
    Io {
        target: String,
        #[source]
        source: io::Error,
    },
    #[error("no response within {0:?}")]
    Timeout(std::time::Duration),
    #[error("malformed HTTP response: {0}")]
    Http(String),
    #[error("{op} failed with HTTP {status}: {error_type}: {message}")]
    Dynamo {
        op: &'static str,
        status: u16,
        error_type: String,
        message: String,
    },
    #[error("JSON error in {context}: {source}")]
    Json {
        context: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("shard-aware mode: {0}")]
    ShardMap(String),
    #[error("load phase: {0}")]
    Load(String),
    #[error("runtime (glommio executor): {0}")]
    Runtime(String),
    #[error("writing {path}: {source}")]
    Output {
        path: String,
        #[source]
        source: io::Error,
    },
}

pub type Result<T> = std::result::Result<T, LoadgenError>;

impl LoadgenError {
    pub fn io(target: impl Into<String>, source: io::Error) -> Self {
        LoadgenError::Io {
            target: target.into(),
            source,
        }
    }

    pub fn output(path: impl Into<String>, source: io::Error) -> Self {
        LoadgenError::Output {
            path: path.into(),
            source,
        }
    }

    pub fn json(context: impl Into<String>, source: serde_json::Error) -> Self {
        LoadgenError::Json {
            context: context.into(),
            source,
        }
    }
}
