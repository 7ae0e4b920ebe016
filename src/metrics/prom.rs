//! The Prometheus text exposition format (version 0.0.4): `# HELP`,
//! `# TYPE`, then one line per sample, label values escaped. Every family
//! is written once, with all its samples together, as the format requires.

use std::fmt::Write;

use super::{LATENCY_BUCKETS_US, Series};

/// The content type of a scrape reply.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A text exposition being written.
#[derive(Default)]
pub struct Exposition {
    out: String,
}

/// Escapes a label value: backslash, double quote and newline.
fn escape(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn labels(pairs: &[(&str, &str)], out: &mut String) {
    if pairs.is_empty() {
        return;
    }
    out.push('{');
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        escape(v, out);
        out.push('"');
    }
    out.push('}');
}

/// A float as Prometheus reads it.
fn number(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else if v.is_nan() {
        "NaN".to_string()
    } else if v > 0.0 {
        "+Inf".to_string()
    } else {
        "-Inf".to_string()
    }
}

impl Exposition {
    /// Starts a family: `kind` is counter, gauge, histogram or summary.
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    pub fn sample(&mut self, name: &str, pairs: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        labels(pairs, &mut self.out);
        self.out.push(' ');
        self.out.push_str(&number(value));
        self.out.push('\n');
    }

    /// The `_bucket`/`_sum`/`_count` samples of one latency histogram, in
    /// seconds.
    pub fn histogram(&mut self, name: &str, pairs: &[(&str, &str)], series: &Series) {
        let mut cumulative = 0u64;
        let bucket = format!("{name}_bucket");
        for (i, count) in series.buckets.iter().enumerate() {
            cumulative += count;
            let le = match LATENCY_BUCKETS_US.get(i) {
                Some(us) => number(*us as f64 / 1e6),
                None => "+Inf".to_string(),
            };
            let mut with_le: Vec<(&str, &str)> = pairs.to_vec();
            with_le.push(("le", &le));
            self.sample(&bucket, &with_le, cumulative as f64);
        }
        self.sample(&format!("{name}_sum"), pairs, series.sum_us as f64 / 1e6);
        self.sample(&format!("{name}_count"), pairs, cumulative as f64);
    }

    pub fn finish(self) -> Vec<u8> {
        self.out.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_lines_are_cumulative_and_escaped() {
        let mut s = Series::default();
        s.observe(40);
        s.observe(2_000);
        s.observe(20_000_000);
        let mut e = Exposition::default();
        e.family("x_seconds", "histogram", "test");
        e.histogram("x_seconds", &[("table", "a\"b")], &s);
        let text = String::from_utf8(e.finish()).expect("utf-8");
        assert!(
            text.contains("x_seconds_bucket{table=\"a\\\"b\",le=\"0.00005\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("x_seconds_bucket{table=\"a\\\"b\",le=\"0.0025\"} 2\n"));
        assert!(text.contains("x_seconds_bucket{table=\"a\\\"b\",le=\"+Inf\"} 3\n"));
        assert!(text.contains("x_seconds_count{table=\"a\\\"b\"} 3\n"));
    }
}
