//! AWS Signature Version 4 for DynamoDB requests.
//!
//! Design decision: the signing key (four chained HMACs of the secret, date,
//! region and service) depends only on the UTC *day*, so [`Signer`] derives it
//! once per day and caches it. Per request we then pay one SHA-256 of the
//! payload, one of the canonical request, and one HMAC of the string to sign —
//! a few microseconds, small next to the round trip. Scratch buffers are
//! reused so the hot path does not allocate.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Access key pair used to sign requests.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Temporary credentials (STS) also send and sign `X-Amz-Security-Token`.
    pub session_token: Option<String>,
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail; fall back to an
    // all-zero MAC rather than panic to keep the hot path panic-free.
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().into()
        }
        Err(_) => [0; 32],
    }
}

/// Appends the lowercase hex form of `bytes` to `out`.
pub fn hex_into(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
}

/// `YYYYMMDD'T'HHMMSS'Z'` for a Unix time in seconds (proleptic Gregorian, UTC).
pub fn amz_date(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let secs_of_day = unix_secs % 86_400;
    // Howard Hinnant's civil_from_days: exact for all dates we will see.
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
        secs_of_day / 3600,
        (secs_of_day / 60) % 60,
        secs_of_day % 60
    )
}

/// Signs requests for one (credentials, region, service) triple.
pub struct Signer {
    creds: Credentials,
    region: String,
    service: String,
    /// `YYYYMMDD` the cached key was derived for.
    key_day: String,
    key: [u8; 32],
    /// Cached `X-Amz-Date` and the Unix second it describes.
    date_secs: u64,
    date: String,
    canonical: String,
    string_to_sign: String,
    /// Reused `Authorization` value (no allocation per request).
    authorization: String,
}

/// The parts of a signature a caller puts into headers.
pub struct Signature<'a> {
    pub amz_date: &'a str,
    /// Full value of the `Authorization` header.
    pub authorization: &'a str,
}

impl Signer {
    pub fn new(creds: Credentials, region: &str, service: &str) -> Self {
        Signer {
            creds,
            region: region.to_string(),
            service: service.to_string(),
            key_day: String::new(),
            key: [0; 32],
            date_secs: u64::MAX,
            date: String::new(),
            canonical: String::with_capacity(512),
            string_to_sign: String::with_capacity(256),
            authorization: String::with_capacity(256),
        }
    }

    fn derive_key_if_needed(&mut self, day: &str) {
        if self.key_day != day {
            let secret = format!("AWS4{}", self.creds.secret_access_key);
            let k_date = hmac(secret.as_bytes(), day.as_bytes());
            let k_region = hmac(&k_date, self.region.as_bytes());
            let k_service = hmac(&k_region, self.service.as_bytes());
            self.key = hmac(&k_service, b"aws4_request");
            self.key_day = day.to_string();
        }
    }

    /// Refreshes the cached `X-Amz-Date` from the wall clock (once a second).
    pub fn set_now(&mut self) {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.set_time(secs);
    }

    /// Sets the signing time explicitly (tests, replay).
    pub fn set_time(&mut self, unix_secs: u64) {
        if unix_secs != self.date_secs {
            self.date = amz_date(unix_secs);
            self.date_secs = unix_secs;
        }
    }

    /// Signs a request. `headers` are `(lowercase name, trimmed value)` pairs
    /// already sorted by name and must include `x-amz-date` equal to the
    /// signer's current date (see [`Signer::amz_date`]).
    pub fn sign(
        &mut self,
        method: &str,
        path: &str,
        query: &str,
        headers: &[(&str, &str)],
        payload: &[u8],
    ) -> Signature<'_> {
        let day = self.date.get(..8).unwrap_or("").to_string();
        self.derive_key_if_needed(&day);

        self.canonical.clear();
        let c = &mut self.canonical;
        c.push_str(method);
        c.push('\n');
        c.push_str(path);
        c.push('\n');
        c.push_str(query);
        c.push('\n');
        for (name, value) in headers {
            c.push_str(name);
            c.push(':');
            c.push_str(value);
            c.push('\n');
        }
        c.push('\n');
        let signed_start = c.len();
        for (i, (name, _)) in headers.iter().enumerate() {
            if i > 0 {
                c.push(';');
            }
            c.push_str(name);
        }
        let signed_end = c.len();
        c.push('\n');
        hex_into(c, &Sha256::digest(payload));

        let s = &mut self.string_to_sign;
        s.clear();
        s.push_str("AWS4-HMAC-SHA256\n");
        s.push_str(&self.date);
        s.push('\n');
        let scope_start = s.len();
        let _ = write!(s, "{day}/{}/{}/aws4_request", self.region, self.service);
        let scope_end = s.len();
        s.push('\n');
        hex_into(s, &Sha256::digest(self.canonical.as_bytes()));

        let sig = hmac(&self.key, self.string_to_sign.as_bytes());
        let authorization = &mut self.authorization;
        authorization.clear();
        authorization.push_str("AWS4-HMAC-SHA256 Credential=");
        authorization.push_str(&self.creds.access_key_id);
        authorization.push('/');
        authorization.push_str(&self.string_to_sign[scope_start..scope_end]);
        authorization.push_str(", SignedHeaders=");
        authorization.push_str(&self.canonical[signed_start..signed_end]);
        authorization.push_str(", Signature=");
        hex_into(authorization, &sig);
        Signature {
            amz_date: &self.date,
            authorization: &self.authorization,
        }
    }

    pub fn amz_date(&self) -> &str {
        &self.date
    }

    pub fn session_token(&self) -> Option<&str> {
        self.creds.session_token.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example_signer() -> Signer {
        let mut s = Signer::new(
            Credentials {
                access_key_id: "AKIDEXAMPLE".into(),
                secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
                session_token: None,
            },
            "us-east-1",
            "service",
        );
        // 2015-08-30T12:36:00Z, the date of the AWS SigV4 test suite.
        s.set_time(1_440_938_160);
        s
    }

    #[test]
    fn amz_date_formats_the_test_suite_date() {
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(951_782_400), "20000229T000000Z");
    }

    #[test]
    fn get_vanilla_from_the_aws_sigv4_test_suite() {
        let mut s = example_signer();
        let headers = [
            ("host", "example.amazonaws.com"),
            ("x-amz-date", "20150830T123600Z"),
        ];
        let sig = s.sign("GET", "/", "", &headers, b"");
        assert_eq!(
            sig.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn get_vanilla_query_order_key_case() {
        let mut s = example_signer();
        let headers = [
            ("host", "example.amazonaws.com"),
            ("x-amz-date", "20150830T123600Z"),
        ];
        let sig = s.sign("GET", "/", "Param1=value1&Param2=value2", &headers, b"");
        assert!(sig.authorization.ends_with(
            "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        ));
    }

    #[test]
    fn key_is_rederived_when_the_day_changes() {
        let mut s = example_signer();
        let h = [("host", "h"), ("x-amz-date", "x")];
        let a = s.sign("POST", "/", "", &h, b"{}").authorization.to_string();
        s.set_time(1_440_938_160 + 86_400);
        let b = s.sign("POST", "/", "", &h, b"{}").authorization.to_string();
        assert!(b.contains("/20150831/"));
        assert_ne!(a, b);
    }
}
