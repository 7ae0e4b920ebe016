//! The credentials file (`--credentials FILE`, config `credentials_file`):
//!
//! ```toml
//! [[credentials]]
//! access_key_id = "AKID..."
//! secret_access_key = "..."
//! session_token = "..."      # optional: requests must then send it
//! user_name = "alice"        # optional: ${aws:username}, the ARN's user; default the key id
//! policy = '''{ IAM JSON }''' # optional: without it the key may do everything
//! ```
//!
//! Parsed whole or refused whole: a file with a bad policy or a repeated
//! key never half-applies (a SIGHUP reload keeps the previous set). The
//! set is immutable once built and shared read-only between shards.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use super::policy::{Policy, PolicyError};

/// One access key.
#[derive(Debug, Clone)]
pub struct Key {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// `${aws:username}`; the key id unless the file names a user.
    pub user_name: String,
    pub policy: Option<Policy>,
}

impl Key {
    pub fn new(access_key_id: &str, secret: &str) -> Key {
        Key {
            access_key_id: access_key_id.to_string(),
            secret_access_key: secret.to_string(),
            session_token: None,
            user_name: access_key_id.to_string(),
            policy: None,
        }
    }
}

/// Every configured key, by access key id.
#[derive(Debug, Default)]
pub struct Credentials {
    keys: HashMap<String, Key>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    #[error("cannot read credentials file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid credentials file {path}: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    #[serde(default)]
    credentials: Vec<EntryToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryToml {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    user_name: Option<String>,
    policy: Option<String>,
}

impl Credentials {
    pub fn get(&self, access_key_id: &str) -> Option<&Key> {
        self.keys.get(access_key_id)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Reads and parses `path`. Blocking file I/O: call it from the main
    /// thread (start-up, the SIGHUP reloader), never from a shard.
    pub fn load(path: &Path) -> Result<Credentials, CredentialsError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CredentialsError::Read {
            path: shown.clone(),
            source,
        })?;
        Credentials::parse(&text).map_err(|message| CredentialsError::Invalid {
            path: shown,
            message,
        })
    }

    pub fn parse(text: &str) -> Result<Credentials, String> {
        let file: FileToml = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut keys = HashMap::with_capacity(file.credentials.len());
        for entry in file.credentials {
            if entry.access_key_id.is_empty() || entry.secret_access_key.is_empty() {
                return Err("access_key_id and secret_access_key must not be empty".into());
            }
            let policy =
                match &entry.policy {
                    Some(text) => Some(Policy::parse(text).map_err(|PolicyError(e)| {
                        format!("policy of {}: {e}", entry.access_key_id)
                    })?),
                    None => None,
                };
            let key = Key {
                user_name: entry
                    .user_name
                    .unwrap_or_else(|| entry.access_key_id.clone()),
                access_key_id: entry.access_key_id.clone(),
                secret_access_key: entry.secret_access_key,
                session_token: entry.session_token.filter(|t| !t.is_empty()),
                policy,
            };
            if keys.insert(entry.access_key_id.clone(), key).is_some() {
                return Err(format!(
                    "access key {} appears more than once",
                    entry.access_key_id
                ));
            }
        }
        Ok(Credentials { keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_tokens_and_policies() {
        let c = Credentials::parse(
            r#"
[[credentials]]
access_key_id = "AKIDA"
secret_access_key = "sa"
[[credentials]]
access_key_id = "AKIDB"
secret_access_key = "sb"
session_token = "tok"
user_name = "bob"
policy = '''{"Statement":{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"*"}}'''
"#,
        )
        .expect("parses");
        assert_eq!(c.len(), 2);
        let b = c.get("AKIDB").expect("b");
        assert_eq!(b.session_token.as_deref(), Some("tok"));
        assert_eq!(b.user_name, "bob");
        assert!(b.policy.is_some());
        assert_eq!(c.get("AKIDA").expect("a").user_name, "AKIDA");
    }

    #[test]
    fn refuses_bad_files_whole() {
        for text in [
            "[[credentials]]\naccess_key_id = \"A\"\n",
            "[[credentials]]\naccess_key_id = \"A\"\nsecret_access_key = \"s\"\n[[credentials]]\naccess_key_id = \"A\"\nsecret_access_key = \"t\"\n",
            "[[credentials]]\naccess_key_id = \"A\"\nsecret_access_key = \"s\"\npolicy = \"{\"\n",
            "[[credentials]]\naccess_key_id = \"A\"\nsecret_access_key = \"s\"\nunknown = 1\n",
        ] {
            assert!(Credentials::parse(text).is_err(), "{text}");
        }
    }
}
