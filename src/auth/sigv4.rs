//! AWS Signature Version 4 verification of the `Authorization` header form,
//! as AWS computes it: canonical request (method, URI, canonical query, the
//! canonical form of every header `SignedHeaders` names, the SHA-256 of the
//! body as received), string to sign, and the HMAC chain from the secret.
//!
//! Invariants: a signature is compared in constant time over its 32 decoded
//! bytes; nothing here panics on any header value; the per-shard cache of
//! derived signing keys is bounded (`signing_keys_max`) and is dropped with
//! the credentials it was derived from (a reload builds a new verifier).
//!
//! The one decision to know: a derived signing key depends only on (access
//! key, scope date, region, service), so it is derived once per day and the
//! *keyed HMAC state* (ipad/opad already absorbed) is cached; a request then
//! costs one SHA-256 of the body, one of the canonical request and one
//! HMAC finish — about a microsecond on the GetItem path.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::credentials::{Credentials, Key};

type HmacSha256 = Hmac<Sha256>;

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// AWS's clock-skew rule: a request dated more than this before or after
/// the server clock is refused.
pub const SKEW_SECS: i64 = 15 * 60;
pub const SERVICE: &str = "dynamodb";

/// Why a request's signature is refused; each is one DynamoDB error.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// No `Authorization` header: MissingAuthenticationTokenException.
    Missing,
    /// A malformed header: IncompleteSignatureException with AWS's text.
    Incomplete(String),
    /// An unknown access key, or a session token that does not match:
    /// UnrecognizedClientException.
    UnrecognizedClient,
    /// The signature does not match: InvalidSignatureException.
    Mismatch,
    /// Scope or date refused (expired, wrong region…): InvalidSignatureException.
    Invalid(String),
}

pub const UNRECOGNIZED_MESSAGE: &str = "The security token included in the request is invalid.";
pub const MISMATCH_MESSAGE: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization<'a> {
    pub access_key_id: &'a str,
    pub scope_date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    pub terminator: &'a str,
    /// `date/region/service/terminator`, as it goes into the string to sign.
    pub scope: &'a str,
    pub signed_headers: &'a str,
    pub signature: &'a str,
}

/// Parses the header value. `has_date` says whether the request carries an
/// `X-Amz-Date` or `Date` header (AWS reports its absence with the rest).
pub fn parse_authorization(value: &str, has_date: bool) -> Result<Authorization<'_>, AuthError> {
    let value = value.trim();
    let (algorithm, rest) = value
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((value, ""));
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split([',', ' ', '\t']).filter(|p| !p.is_empty()) {
        let Some((name, v)) = part.split_once('=') else {
            continue;
        };
        match name {
            "Credential" if !v.is_empty() => credential = Some(v),
            "SignedHeaders" if !v.is_empty() => signed = Some(v),
            "Signature" if !v.is_empty() => signature = Some(v),
            _ => {}
        }
    }
    let mut message = String::new();
    for (name, found) in [
        ("Credential", credential.is_some()),
        ("Signature", signature.is_some()),
        ("SignedHeaders", signed.is_some()),
    ] {
        if !found {
            let _ = write!(
                message,
                "Authorization header requires '{name}' parameter. "
            );
        }
    }
    if !has_date {
        message.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    if !message.is_empty() {
        message.push_str("Authorization=");
        message.push_str(value);
        return Err(AuthError::Incomplete(message));
    }
    if algorithm != ALGORITHM {
        return Err(AuthError::Incomplete(format!(
            "Unsupported AWS 'algorithm': '{algorithm}'"
        )));
    }
    let (Some(credential), Some(signed_headers), Some(signature)) = (credential, signed, signature)
    else {
        return Err(AuthError::Incomplete(format!("Authorization={value}")));
    };
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key_id, scope_date, region, service, terminator] = parts[..] else {
        return Err(AuthError::Incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"
        )));
    };
    let scope = &credential[access_key_id.len() + 1..];
    Ok(Authorization {
        access_key_id,
        scope_date,
        region,
        service,
        terminator,
        scope,
        signed_headers,
        signature,
    })
}

/// What of a request the signature covers.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// Path and query as sent (`/`, `/?a=b`).
    pub target: &'a str,
    /// Every header field as (name, value), in arrival order.
    pub headers: &'a [(&'a str, &'a [u8])],
    /// The body as received (before any Content-Encoding is undone: the
    /// client signs the bytes it sends).
    pub body: &'a [u8],
}

impl SignedRequest<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
            .map(str::trim)
    }
}

/// `YYYYMMDD'T'HHMMSS'Z'` to Unix seconds (None if malformed).
pub fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, se) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se)
}

/// Unix seconds to `YYYYMMDD'T'HHMMSS'Z'`.
pub fn format_amz_date(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

fn hex_into(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
}

fn decode_hex32(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = (nibble(b[2 * i])? << 4) | nibble(b[2 * i + 1])?;
    }
    Some(out)
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length: this cannot fail.
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().into()
        }
        Err(_) => [0; 32],
    }
}

/// The keyed HMAC state of `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret,
/// date), region), service), "aws4_request")`.
fn signing_state(secret: &str, date: &str, region: &str, service: &str) -> Option<HmacSha256> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    HmacSha256::new_from_slice(&k_signing).ok()
}

/// Characters SigV4 leaves unencoded (RFC 3986 unreserved).
fn is_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~')
}

fn encode_into(out: &mut String, bytes: &[u8], keep_slash: bool) {
    for &c in bytes {
        if is_unreserved(c) || (keep_slash && c == b'/') {
            out.push(c as char);
        } else {
            let _ = write!(out, "%{c:02X}");
        }
    }
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    out
}

/// Appends the canonical query string of `query` (pairs sorted by encoded
/// name, then value).
fn canonical_query(out: &mut String, query: &str) {
    if query.is_empty() {
        return;
    }
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let mut ek = String::new();
            encode_into(&mut ek, &percent_decode(k), false);
            let mut ev = String::new();
            encode_into(&mut ev, &percent_decode(v), false);
            (ek, ev)
        })
        .collect();
    pairs.sort();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
}

/// Appends a header value trimmed, with runs of spaces folded to one.
fn push_folded(out: &mut String, value: &[u8]) {
    let text = String::from_utf8_lossy(value);
    let mut first = true;
    for word in text.split_ascii_whitespace() {
        if !first {
            out.push(' ');
        }
        out.push_str(word);
        first = false;
    }
}

/// Verifies requests against one credentials set, caching signing keys.
/// One per shard (its cache is the shard's): `Rc`, never shared.
pub struct Verifier {
    credentials: std::sync::Arc<Credentials>,
    region: String,
    keys_max: usize,
    keys: RefCell<HashMap<String, HmacSha256>>,
    canonical: RefCell<String>,
}

impl Verifier {
    pub fn new(credentials: std::sync::Arc<Credentials>, region: &str, keys_max: usize) -> Self {
        Verifier {
            credentials,
            region: region.to_string(),
            keys_max: keys_max.max(1),
            keys: RefCell::new(HashMap::new()),
            canonical: RefCell::new(String::with_capacity(512)),
        }
    }

    pub fn credentials(&self) -> &std::sync::Arc<Credentials> {
        &self.credentials
    }

    /// Checks `request`'s signature at server time `now` (Unix seconds);
    /// returns the key that signed it.
    pub fn verify(&self, request: &SignedRequest<'_>, now: i64) -> Result<&Key, AuthError> {
        let Some(value) = request.header("authorization").filter(|v| !v.is_empty()) else {
            return Err(AuthError::Missing);
        };
        let amz_date = request.header("x-amz-date");
        let has_date = amz_date.is_some() || request.header("date").is_some();
        let auth = parse_authorization(value, has_date)?;
        let Some(key) = self.credentials.get(auth.access_key_id) else {
            return Err(AuthError::UnrecognizedClient);
        };
        let token = request.header("x-amz-security-token");
        let token_ok = match (&key.session_token, token) {
            (None, None) => true,
            (Some(expected), Some(sent)) => bool::from(expected.as_bytes().ct_eq(sent.as_bytes())),
            _ => false,
        };
        if !token_ok {
            return Err(AuthError::UnrecognizedClient);
        }
        check_scope(&auth, &self.region)?;
        let Some(amz_date) = amz_date else {
            return Err(AuthError::Incomplete(
                "Authorization header requires existence of a 'X-Amz-Date' header (the 'Date' form is not supported). "
                    .to_string(),
            ));
        };
        let Some(signed_at) = parse_amz_date(amz_date) else {
            return Err(AuthError::Incomplete(format!(
                "Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
            )));
        };
        check_clock(signed_at, amz_date, now)?;
        if auth.scope_date != &amz_date[..8] {
            return Err(AuthError::Invalid(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
                auth.scope_date,
                &amz_date[..8]
            )));
        }
        if !auth.signed_headers.split(';').any(|h| h == "host") {
            return Err(AuthError::Invalid(
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
                    .to_string(),
            ));
        }
        let Some(provided) = decode_hex32(auth.signature) else {
            return Err(AuthError::Mismatch);
        };
        let mac = self.signing_key(key, &auth);
        let computed = signature(
            mac,
            &mut self.canonical.borrow_mut(),
            &auth,
            amz_date,
            request,
        );
        if bool::from(computed.ct_eq(&provided)) {
            Ok(key)
        } else {
            Err(AuthError::Mismatch)
        }
    }

    /// The cached keyed HMAC state for (key, date, region, service).
    fn signing_key(&self, key: &Key, auth: &Authorization<'_>) -> HmacSha256 {
        let mut keys = self.keys.borrow_mut();
        // `Credential=` minus the terminator names the derived key exactly.
        let id_len = auth.access_key_id.len() + 1 + auth.scope.len();
        let mut cache_key = String::with_capacity(id_len);
        cache_key.push_str(auth.access_key_id);
        cache_key.push('/');
        cache_key.push_str(auth.scope);
        if let Some(state) = keys.get(&cache_key) {
            return state.clone();
        }
        let state = signing_state(
            &key.secret_access_key,
            auth.scope_date,
            auth.region,
            auth.service,
        )
        .unwrap_or_else(|| {
            // Unreachable (HMAC takes any key length); a zero key never
            // verifies a real signature.
            HmacSha256::new_from_slice(&[0u8; 32]).expect("32-byte HMAC key")
        });
        if keys.len() >= self.keys_max {
            // Keys live a day; a full cache is rare (many keys): start over.
            keys.clear();
        }
        keys.insert(cache_key, state.clone());
        state
    }
}

/// The signature AWS computes for `request`, given the keyed signing state.
fn signature(
    mut mac: HmacSha256,
    c: &mut String,
    auth: &Authorization<'_>,
    amz_date: &str,
    request: &SignedRequest<'_>,
) -> [u8; 32] {
    c.clear();
    c.push_str(request.method);
    c.push('\n');
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((request.target, ""));
    encode_into(c, path.as_bytes(), true);
    c.push('\n');
    canonical_query(c, query);
    c.push('\n');
    for name in auth.signed_headers.split(';') {
        c.push_str(name);
        c.push(':');
        let mut first = true;
        for (_, value) in request
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            if !first {
                c.push(',');
            }
            push_folded(c, value);
            first = false;
        }
        c.push('\n');
    }
    c.push('\n');
    c.push_str(auth.signed_headers);
    c.push('\n');
    hex_into(c, &Sha256::digest(request.body));
    let canonical_hash = Sha256::digest(c.as_bytes());
    // The string to sign, fed to the keyed HMAC piece by piece.
    mac.update(ALGORITHM.as_bytes());
    mac.update(b"\n");
    mac.update(amz_date.as_bytes());
    mac.update(b"\n");
    mac.update(auth.scope.as_bytes());
    mac.update(b"\n");
    let mut hex = [0u8; 64];
    for (i, b) in canonical_hash.iter().enumerate() {
        hex[2 * i] = b"0123456789abcdef"[(b >> 4) as usize];
        hex[2 * i + 1] = b"0123456789abcdef"[(b & 15) as usize];
    }
    mac.update(&hex);
    mac.finalize().into_bytes().into()
}

/// The scope must be `<date>/<this region>/dynamodb/aws4_request`.
fn check_scope(auth: &Authorization<'_>, region: &str) -> Result<(), AuthError> {
    if auth.terminator != "aws4_request" {
        return Err(AuthError::Invalid(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'.",
            auth.terminator
        )));
    }
    if auth.service != SERVICE {
        return Err(AuthError::Invalid(format!(
            "Credential should be scoped to correct service: '{SERVICE}'. "
        )));
    }
    if auth.region != region {
        return Err(AuthError::Invalid(format!(
            "Credential should be scoped to a valid region, not '{}'. ",
            auth.region
        )));
    }
    Ok(())
}

/// AWS's 15-minute rule, with AWS's messages.
fn check_clock(signed_at: i64, amz_date: &str, now: i64) -> Result<(), AuthError> {
    if signed_at < now - SKEW_SECS {
        return Err(AuthError::Invalid(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - 15 min.)",
            format_amz_date(now - SKEW_SECS),
            format_amz_date(now)
        )));
    }
    if signed_at > now + SKEW_SECS {
        return Err(AuthError::Invalid(format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + 15 min.)",
            format_amz_date(now + SKEW_SECS),
            format_amz_date(now)
        )));
    }
    Ok(())
}

/// Signs a request as an AWS SDK would (the test harness, benches and the
/// verifier's own tests use it): the `Authorization` value for `headers`
/// (lowercase names, sorted; host and x-amz-date among them).
#[allow(clippy::too_many_arguments)]
pub fn sign(
    access_key_id: &str,
    secret: &str,
    region: &str,
    amz_date: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> String {
    let signed: String = headers
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(";");
    let day = amz_date.get(..8).unwrap_or("");
    let scope = format!("{day}/{region}/{SERVICE}/aws4_request");
    let auth = Authorization {
        access_key_id,
        scope_date: day,
        region,
        service: SERVICE,
        terminator: "aws4_request",
        scope: &scope,
        signed_headers: &signed,
        signature: "",
    };
    let fields: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
    let request = SignedRequest {
        method,
        target,
        headers: &fields,
        body,
    };
    let Some(mac) = signing_state(secret, day, region, SERVICE) else {
        return String::new();
    };
    let sig = signature(mac, &mut String::new(), &auth, amz_date, &request);
    let mut out = format!(
        "{ALGORITHM} Credential={access_key_id}/{scope}, SignedHeaders={signed}, Signature="
    );
    hex_into(&mut out, &sig);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const NOW: i64 = 1_440_938_160; // 20150830T123600Z, the AWS test suite's date
    const DATE: &str = "20150830T123600Z";

    #[test]
    fn aws_test_suite_get_vanilla() {
        let auth = Authorization {
            access_key_id: "AKIDEXAMPLE",
            scope_date: "20150830",
            region: "us-east-1",
            service: "service",
            terminator: "aws4_request",
            scope: "20150830/us-east-1/service/aws4_request",
            signed_headers: "host;x-amz-date",
            signature: "",
        };
        let headers: [(&str, &[u8]); 2] = [
            ("Host", b"example.amazonaws.com"),
            ("X-Amz-Date", DATE.as_bytes()),
        ];
        let request = SignedRequest {
            method: "GET",
            target: "/",
            headers: &headers,
            body: b"",
        };
        let mac = signing_state(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20150830",
            "us-east-1",
            "service",
        )
        .expect("key");
        let sig = signature(mac, &mut String::new(), &auth, DATE, &request);
        let mut hex = String::new();
        hex_into(&mut hex, &sig);
        assert_eq!(
            hex,
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        // Query order and key case (get-vanilla-query-order-key-case).
        let request = SignedRequest {
            target: "/?Param2=value2&Param1=value1",
            ..request
        };
        let mac = signing_state(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20150830",
            "us-east-1",
            "service",
        )
        .expect("key");
        let sig = signature(mac, &mut String::new(), &auth, DATE, &request);
        let mut hex = String::new();
        hex_into(&mut hex, &sig);
        assert_eq!(
            hex,
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        );
    }

    fn verifier() -> Verifier {
        let creds = Credentials::parse(
            "[[credentials]]\naccess_key_id = \"AKID\"\nsecret_access_key = \"secret\"\n\
             [[credentials]]\naccess_key_id = \"TEMP\"\nsecret_access_key = \"s2\"\nsession_token = \"tok\"\n",
        )
        .expect("creds");
        Verifier::new(Arc::new(creds), "us-east-1", 16)
    }

    /// (status of verify) for a request built by `sign` then altered.
    fn check(
        v: &Verifier,
        key: (&str, &str),
        date: &str,
        token: Option<&str>,
        alter: impl Fn(&mut Vec<(String, String)>, &mut Vec<u8>),
    ) -> Result<(), AuthError> {
        let body = br#"{"TableName":"t"}"#.to_vec();
        let mut signed = vec![
            ("host", "localhost:8000"),
            ("x-amz-date", date),
            ("x-amz-target", "DynamoDB_20120810.GetItem"),
        ];
        if let Some(t) = token {
            signed.insert(2, ("x-amz-security-token", t));
        }
        let authorization = sign(key.0, key.1, "us-east-1", date, "POST", "/", &signed, &body);
        let mut headers: Vec<(String, String)> = signed
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        headers.push(("Authorization".into(), authorization));
        let mut body = body;
        alter(&mut headers, &mut body);
        let fields: Vec<(&str, &[u8])> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes()))
            .collect();
        let request = SignedRequest {
            method: "POST",
            target: "/",
            headers: &fields,
            body: &body,
        };
        v.verify(&request, NOW).map(|_| ())
    }

    #[test]
    fn verification_table() {
        let v = verifier();
        let none = |_: &mut Vec<(String, String)>, _: &mut Vec<u8>| {};
        assert_eq!(check(&v, ("AKID", "secret"), DATE, None, none), Ok(()));
        // Cached key, second time.
        assert_eq!(check(&v, ("AKID", "secret"), DATE, None, none), Ok(()));
        assert_eq!(
            check(&v, ("NOPE", "secret"), DATE, None, none),
            Err(AuthError::UnrecognizedClient)
        );
        assert_eq!(
            check(&v, ("AKID", "wrong"), DATE, None, none),
            Err(AuthError::Mismatch)
        );
        assert_eq!(
            check(&v, ("AKID", "secret"), DATE, None, |_, b| b.push(b' ')),
            Err(AuthError::Mismatch)
        );
        assert_eq!(
            check(&v, ("AKID", "secret"), DATE, None, |h, _| h[2].1 =
                "DynamoDB_20120810.DeleteItem".into()),
            Err(AuthError::Mismatch)
        );
        assert_eq!(check(&v, ("TEMP", "s2"), DATE, Some("tok"), none), Ok(()));
        assert_eq!(
            check(&v, ("TEMP", "s2"), DATE, Some("other"), none),
            Err(AuthError::UnrecognizedClient)
        );
        assert_eq!(
            check(&v, ("TEMP", "s2"), DATE, None, none),
            Err(AuthError::UnrecognizedClient)
        );
        let old = format_amz_date(NOW - SKEW_SECS - 1);
        match check(&v, ("AKID", "secret"), &old, None, none) {
            Err(AuthError::Invalid(m)) => assert_eq!(
                m,
                "Signature expired: 20150830T122059Z is now earlier than 20150830T122100Z (20150830T123600Z - 15 min.)"
            ),
            other => panic!("{other:?}"),
        }
        let future = format_amz_date(NOW + SKEW_SECS + 1);
        assert!(matches!(
            check(&v, ("AKID", "secret"), &future, None, none),
            Err(AuthError::Invalid(m)) if m.starts_with("Signature not yet current")
        ));
        let edge = format_amz_date(NOW - SKEW_SECS);
        assert_eq!(check(&v, ("AKID", "secret"), &edge, None, none), Ok(()));
        assert_eq!(
            check(&v, ("AKID", "secret"), DATE, None, |h, _| {
                h.retain(|(n, _)| n != "Authorization")
            }),
            Err(AuthError::Missing)
        );
    }

    #[test]
    fn malformed_headers_get_aws_texts() {
        match parse_authorization("x", false) {
            Err(AuthError::Incomplete(m)) => assert_eq!(
                m,
                "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=x"
            ),
            other => panic!("{other:?}"),
        }
        match parse_authorization(
            "AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=00",
            true,
        ) {
            Err(AuthError::Incomplete(m)) => {
                assert!(m.starts_with("Credential must have exactly 5"))
            }
            other => panic!("{other:?}"),
        }
        let ok = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=ab",
            true,
        )
        .expect("parses");
        assert_eq!(ok.access_key_id, "AK");
        assert_eq!(ok.scope, "20260101/us-east-1/dynamodb/aws4_request");
        assert_eq!(ok.signed_headers, "host;x-amz-date");
    }

    #[test]
    fn dates_round_trip() {
        for t in [0, NOW, 951_782_400, 4_102_444_799] {
            assert_eq!(parse_amz_date(&format_amz_date(t)), Some(t));
        }
        for bad in [
            "",
            "20150830T123600",
            "2015083OT123600Z",
            "20151330T123600Z",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }
}
