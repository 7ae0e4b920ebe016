//! The table settings CreateTable and UpdateTable share beside keys,
//! billing and indexes — DeletionProtectionEnabled, TableClass,
//! SSESpecification, OnDemandThroughput, WarmThroughput — and the tag
//! members (CreateTable `Tags`, TagResource, UntagResource) and
//! StreamSpecification, each read and
//! validated with DynamoDB's messages: member constraints collected into
//! the `Violations` of the request, semantic rules after them.

use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::request::{Fields, element_str};
use crate::api::shard::Shard;
use crate::catalog::{
    BillingMode, SettingsUpdate, StreamDef, StreamViewType, TAGS_MAX, TableClass, Tag,
};

pub const TAG_KEY_CHARS_MAX: usize = 128;
pub const TAG_VALUE_CHARS_MAX: usize = 256;

/// The settings members of a CreateTable or UpdateTable request, shapes
/// checked; their meaning is checked by [`SettingsInput::check_create`] or
/// [`SettingsInput::check_update`].
#[derive(Debug, Default)]
pub struct SettingsInput {
    pub deletion_protection: Option<bool>,
    pub table_class: Option<String>,
    pub sse: Option<SseInput>,
    /// (MaxReadRequestUnits, MaxWriteRequestUnits); absent members -1.
    pub on_demand: Option<(i64, i64)>,
    /// (ReadUnitsPerSecond, WriteUnitsPerSecond) as given.
    pub warm: Option<(Option<i64>, Option<i64>)>,
}

#[derive(Debug, Default)]
pub struct SseInput {
    pub enabled: Option<bool>,
    pub sse_type: Option<String>,
    pub kms_key: Option<String>,
}

impl SettingsInput {
    /// Reads the members; constraint violations go to `v`.
    pub fn read(fields: &Fields<'_, '_>, v: &mut Violations) -> Result<SettingsInput, ApiError> {
        let deletion_protection = fields.bool("DeletionProtectionEnabled")?;
        let table_class = fields.str("TableClass")?.map(str::to_string);
        let sse = match fields.object("SSESpecification")? {
            None => None,
            Some(spec) => {
                let sse_type = spec.str("SSEType")?;
                if let Some(t) = sse_type
                    && !matches!(t, "AES256" | "KMS")
                {
                    v.push(
                        &format!("'{t}'"),
                        "sSESpecification.sSEType",
                        "Member must satisfy enum value set: [AES256, KMS]",
                    );
                }
                Some(SseInput {
                    enabled: spec.bool("Enabled")?,
                    sse_type: sse_type.map(str::to_string),
                    kms_key: spec.str("KMSMasterKeyId")?.map(str::to_string),
                })
            }
        };
        let on_demand = match fields.object("OnDemandThroughput")? {
            None => None,
            Some(o) => Some((
                o.i64("MaxReadRequestUnits")?.unwrap_or(-1),
                o.i64("MaxWriteRequestUnits")?.unwrap_or(-1),
            )),
        };
        let warm = match fields.object("WarmThroughput")? {
            None => None,
            Some(w) => {
                let read = w.i64("ReadUnitsPerSecond")?;
                let write = w.i64("WriteUnitsPerSecond")?;
                for (value, path) in [
                    (read, "warmThroughput.readUnitsPerSecond"),
                    (write, "warmThroughput.writeUnitsPerSecond"),
                ] {
                    if let Some(n) = value.filter(|n| *n < 1) {
                        v.push(
                            &format!("'{n}'"),
                            path,
                            "Member must have value greater than or equal to 1",
                        );
                    }
                }
                Some((read, write))
            }
        };
        Ok(SettingsInput {
            deletion_protection,
            table_class,
            sse,
            on_demand,
            warm,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.deletion_protection.is_none()
            && self.table_class.is_none()
            && self.sse.is_none()
            && self.on_demand.is_none()
            && self.warm.is_none()
    }

    /// The settings a new table starts with, in DynamoDB's rules for the
    /// table's billing mode and provisioned read capacity.
    pub fn check_create(
        &self,
        shard: &Shard,
        mode: BillingMode,
        read_capacity: i64,
    ) -> Result<SettingsUpdate, ApiError> {
        let mut out = self.common(shard)?;
        if let Some((read, write)) = self.on_demand {
            check_on_demand(mode, read, write)?;
            out.on_demand = Some((read, write));
        }
        if let Some((read, write)) = self.warm {
            if mode == BillingMode::Provisioned && read.is_some_and(|r| r < read_capacity) {
                return Err(ApiError::invalid_parameter(
                    "Requested ReadUnitsPerSecond for WarmThroughput for table is lower than ReadCapacityUnits of ProvisionedThroughput",
                ));
            }
            out.warm = Some(warm_units(read, write, None));
        }
        Ok(out)
    }

    /// The changes an UpdateTable makes, against the table's current
    /// warm throughput, in the billing mode it will have.
    pub fn check_update(
        &self,
        shard: &Shard,
        mode: BillingMode,
        current_warm: Option<(i64, i64)>,
    ) -> Result<SettingsUpdate, ApiError> {
        let mut out = self.common(shard)?;
        if let Some((read, write)) = self.on_demand {
            check_on_demand(mode, read, write)?;
            out.on_demand = Some((read, write));
        }
        if let Some((read, write)) = self.warm {
            if let Some((current_read, current_write)) = current_warm {
                for (asked, current, name) in [
                    (read, current_read, "ReadUnitsPerSecond"),
                    (write, current_write, "WriteUnitsPerSecond"),
                ] {
                    if asked.is_some_and(|a| a < current) {
                        return Err(ApiError::invalid_parameter(format!(
                            "Requested {name} for WarmThroughput for table is lower than current WarmThroughput, decreasing WarmThroughput is not supported"
                        )));
                    }
                }
            }
            out.warm = Some(warm_units(read, write, current_warm));
        }
        Ok(out)
    }

    /// DeletionProtectionEnabled, TableClass and SSESpecification.
    fn common(&self, shard: &Shard) -> Result<SettingsUpdate, ApiError> {
        let table_class = match &self.table_class {
            None => None,
            Some(name) => Some(TableClass::parse(name).ok_or_else(|| {
                ApiError::validation(
                    "Invalid table-class parameter provided. Please try again with a valid table-class value: [STANDARD, STANDARD_INFREQUENT_ACCESS].",
                )
            })?),
        };
        let sse_kms_key_arn = match &self.sse {
            None => None,
            Some(sse) => Some(sse.key_arn(shard)?),
        };
        Ok(SettingsUpdate {
            deletion_protection: self.deletion_protection,
            table_class,
            sse_kms_key_arn,
            on_demand: None,
            warm: None,
        })
    }

    /// UpdateTable's rule that some settings change alone: the members
    /// besides TableName present in the request are `others`.
    pub fn check_alone(&self, others: &[&str]) -> Result<(), ApiError> {
        let mut present: Vec<&str> = others.to_vec();
        let mine = [
            (
                self.deletion_protection.is_some(),
                "DeletionProtectionEnabled",
            ),
            (self.table_class.is_some(), "TableClass"),
            (self.sse.is_some(), "SSESpecification"),
            (self.on_demand.is_some(), "OnDemandThroughput"),
            (self.warm.is_some(), "WarmThroughput"),
        ];
        present.extend(mine.iter().filter(|(set, _)| *set).map(|(_, name)| *name));
        if present.len() < 2 {
            return Ok(());
        }
        let alone = [
            ("SSESpecification", "Server-Side Encryption modification"),
            ("TableClass", "TableClass modification"),
            (
                "DeletionProtectionEnabled",
                "DeletionProtection modification",
            ),
            ("WarmThroughput", "WarmThroughput"),
        ];
        for (member, what) in alone {
            if present.contains(&member) {
                return Err(ApiError::invalid_parameter(format!(
                    "{what} must be the only operation in the request"
                )));
            }
        }
        if present.contains(&"OnDemandThroughput")
            && present
                .iter()
                .any(|m| !matches!(*m, "OnDemandThroughput" | "BillingMode"))
        {
            return Err(ApiError::invalid_parameter(
                "OnDemandThroughput can only be combined with BillingMode in an UpdateTable request",
            ));
        }
        Ok(())
    }
}

impl SseInput {
    /// The KMS key ARN the table is encrypted with, or None for
    /// DynamoDB's default AWS-owned key.
    fn key_arn(&self, shard: &Shard) -> Result<Option<String>, ApiError> {
        let enabled = self.enabled.unwrap_or(false);
        if !enabled && self.sse_type.is_some() {
            return Err(ApiError::invalid_parameter(
                "SSEType can not be specified if Enabled is false",
            ));
        }
        if !enabled && self.kms_key.is_some() {
            return Err(ApiError::invalid_parameter(
                "KMSMasterKeyId can not be specified if Enabled is false",
            ));
        }
        if self.sse_type.as_deref() == Some("AES256") {
            return Err(ApiError::invalid_parameter(
                "SSEType AES256 is not supported",
            ));
        }
        if self.kms_key.is_some() && self.sse_type.as_deref() != Some("KMS") {
            return Err(ApiError::invalid_parameter(
                "SSEType KMS is required if KMSMasterKeyId is specified",
            ));
        }
        if !enabled {
            return Ok(None);
        }
        let (region, account) = (&shard.settings.region, &shard.settings.account_id);
        // There is no KMS here: a key id or alias is shown as the ARN it
        // names; without one, the AWS-managed key's alias.
        let key = self.kms_key.as_deref().unwrap_or("alias/aws/dynamodb");
        Ok(Some(if key.starts_with("arn:") {
            key.to_string()
        } else if key.starts_with("alias/") {
            format!("arn:aws:kms:{region}:{account}:{key}")
        } else {
            format!("arn:aws:kms:{region}:{account}:key/{key}")
        }))
    }
}

/// -1 is "no maximum": an absent member, or given to clear one.
fn check_on_demand(mode: BillingMode, read: i64, write: i64) -> Result<(), ApiError> {
    for (units, name) in [
        (read, "MaxReadRequestUnits"),
        (write, "MaxWriteRequestUnits"),
    ] {
        if mode == BillingMode::Provisioned && units != -1 {
            return Err(ApiError::invalid_parameter(format!(
                "{name} for OnDemandThroughput cannot be specified when the table BillingMode is PROVISIONED"
            )));
        }
        if units < 1 && units != -1 {
            return Err(ApiError::invalid_parameter(format!(
                "Requested {name} for OnDemandThroughput for table is outside of valid range"
            )));
        }
    }
    Ok(())
}

/// DynamoDB's default warm throughput of an on-demand table.
const WARM_DEFAULT: (i64, i64) = (12_000, 4_000);

fn warm_units(read: Option<i64>, write: Option<i64>, current: Option<(i64, i64)>) -> (i64, i64) {
    let base = current.unwrap_or(WARM_DEFAULT);
    (read.unwrap_or(base.0), write.unwrap_or(base.1))
}

/// Reads a `Tags` list (CreateTable, TagResource): shapes and lengths as
/// violations (paths `tags.N.member.key`), then DynamoDB's tag rules.
pub fn read_tags(
    list: &[simd_json::BorrowedValue<'_>],
    v: &mut Violations,
) -> Result<Vec<Tag>, ApiError> {
    let mut tags = Vec::with_capacity(list.len());
    for (i, element) in list.iter().enumerate() {
        let tag = Fields::of(element)?;
        let path = format!("tags.{}.member", i + 1);
        let key = tag.str("Key")?;
        let value = tag.str("Value")?;
        match key {
            None => v.null(&format!("{path}.key")),
            Some(k) => check_key_length(v, k, &format!("{path}.key")),
        }
        if let Some(value) = value
            && value.chars().count() > TAG_VALUE_CHARS_MAX
        {
            v.push(
                &format!("'{value}'"),
                &format!("{path}.value"),
                "Member must have length less than or equal to 256",
            );
        }
        tags.push((key.map(str::to_string), value.map(str::to_string)));
    }
    let mut out: Vec<Tag> = Vec::with_capacity(tags.len());
    for (key, value) in tags {
        let key = key.unwrap_or_default();
        let Some(value) = value else {
            return Err(ApiError::validation(
                "The Tag Value provided is invalid, Value: null",
            ));
        };
        check_key(&key)?;
        if !value.chars().all(allowed_tag_char) {
            return Err(ApiError::validation(format!(
                "The Tag Value provided is invalid, Value: {value}"
            )));
        }
        if out.iter().any(|t| t.key == key) {
            return Err(ApiError::validation(format!(
                "Duplicate Tag Keys provided as input: Duplicate Tag Key found {key}"
            )));
        }
        out.push(Tag { key, value });
    }
    if out.len() > TAGS_MAX {
        return Err(ApiError::validation(
            "Number of Tags exceed the current limit for the provided ResourceArn",
        ));
    }
    Ok(out)
}

/// Reads UntagResource's `TagKeys`, each checked like a tag's key.
pub fn read_tag_keys(
    list: &[simd_json::BorrowedValue<'_>],
    v: &mut Violations,
) -> Result<Vec<String>, ApiError> {
    let mut keys = Vec::with_capacity(list.len());
    for (i, element) in list.iter().enumerate() {
        let key = element_str(element)?;
        check_key_length(v, key, &format!("tagKeys.{}.member", i + 1));
        keys.push(key.to_string());
    }
    Ok(keys)
}

/// Checks what the validator does not: characters and the reserved prefix.
pub fn check_tag_keys(keys: &[String]) -> Result<(), ApiError> {
    keys.iter().try_for_each(|k| check_key(k))
}

fn check_key_length(v: &mut Violations, key: &str, path: &str) {
    let chars = key.chars().count();
    if chars < 1 {
        v.push(
            "''",
            path,
            "Member must have length greater than or equal to 1",
        );
    } else if chars > TAG_KEY_CHARS_MAX {
        v.push(
            &format!("'{key}'"),
            path,
            "Member must have length less than or equal to 128",
        );
    }
}

fn check_key(key: &str) -> Result<(), ApiError> {
    if key.is_empty() || !key.chars().all(allowed_tag_char) {
        return Err(ApiError::validation(format!(
            "The Tag Key provided is invalid, Key: {key}"
        )));
    }
    if key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:")) {
        return Err(ApiError::validation(format!(
            "Tag Key cannot be prefixed with aws:, Key: {key}"
        )));
    }
    Ok(())
}

/// DynamoDB's tag character set: letters, digits and white space in any
/// script, and `+ - = . _ : /`.
fn allowed_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || matches!(c, '+' | '-' | '=' | '.' | '_' | ':' | '/')
}

/// StreamSpecification's members, shape-checked: (StreamEnabled,
/// StreamViewType); None if absent. What they may combine to is the
/// operation's to decide (CreateTable and UpdateTable word it apart).
#[allow(clippy::type_complexity)]
pub fn read_stream_specification(
    fields: &Fields<'_, '_>,
    v: &mut Violations,
) -> Result<Option<(Option<bool>, Option<StreamViewType>)>, ApiError> {
    let Some(stream) = fields.object("StreamSpecification")? else {
        return Ok(None);
    };
    let enabled = stream.bool("StreamEnabled")?;
    if enabled.is_none() {
        v.null("streamSpecification.streamEnabled");
    }
    let view_type = match stream.str("StreamViewType")? {
        None => None,
        Some(t) => {
            let parsed = StreamViewType::parse(t);
            if parsed.is_none() {
                v.push(
                    &format!("'{t}'"),
                    "streamSpecification.streamViewType",
                    "Member must satisfy enum value set: [NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, KEYS_ONLY]",
                );
            }
            parsed
        }
    };
    Ok(Some((enabled, view_type)))
}

/// A new stream of `view_type`, created now, with this server's rollover.
pub fn new_stream(shard: &Shard, view_type: StreamViewType) -> StreamDef {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    StreamDef {
        label_ms: now_ms,
        view_type,
        rollover_ms: shard.settings.streams.shard_rollover_ms.max(1),
        disabled_ms: None,
        iterator_key: new_iterator_key(),
    }
}

/// A fresh key for a new stream's shard iterators (from the OS; a failure,
/// which Linux's getrandom(2) does not have after boot, falls back to the
/// clock).
fn new_iterator_key() -> [u8; 16] {
    let mut key = [0u8; 16];
    if getrandom::fill(&mut key).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        key = nanos.to_le_bytes();
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_keys_follow_dynamodbs_rules() {
        assert!(check_key("Environment: prod/eu-1 = a+b_c.d").is_ok());
        assert!(check_key("законные буквы").is_ok());
        // Multi-byte characters where the prefix would end: no panic.
        assert!(check_key("éé").is_ok() && check_key("aéé").is_ok());
        for bad in ["", "hi!", "d%g", "\"q\"", "a#b"] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
        let e = check_key("AWS:x").expect_err("reserved");
        assert_eq!(
            e.message,
            "Tag Key cannot be prefixed with aws:, Key: AWS:x"
        );
    }

    #[test]
    fn only_rules_of_update_table() {
        let input = SettingsInput {
            deletion_protection: Some(true),
            ..SettingsInput::default()
        };
        assert!(input.check_alone(&[]).is_ok());
        let e = input.check_alone(&["BillingMode"]).expect_err("not alone");
        assert!(e.message.ends_with(
            "DeletionProtection modification must be the only operation in the request"
        ));
        let on_demand = SettingsInput {
            on_demand: Some((10, 10)),
            ..SettingsInput::default()
        };
        assert!(on_demand.check_alone(&["BillingMode"]).is_ok());
        assert!(on_demand.check_alone(&["ProvisionedThroughput"]).is_err());
    }

    #[test]
    fn on_demand_ranges() {
        let ppr = BillingMode::PayPerRequest;
        assert!(check_on_demand(ppr, 10, -1).is_ok());
        assert!(check_on_demand(ppr, 0, -1).is_err());
        assert!(check_on_demand(ppr, -1, -1).is_ok());
        assert!(check_on_demand(ppr, -2, 5).is_err());
        assert!(check_on_demand(BillingMode::Provisioned, 5, -1).is_err());
    }
}
