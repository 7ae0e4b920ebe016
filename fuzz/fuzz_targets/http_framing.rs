//! HTTP request framing (`dynacore::runtime::http::Parser`): the input is a
//! byte stream from one connection, fed split at fuzzer-chosen points the way
//! the connection loop feeds it (unconsumed bytes stay at the front).
//!
//! Checked for every input: no panic; `consumed <= input`; a decoded body
//! never exceeds the limit and the memory asked of the budget never exceeds
//! it either; and the outcome does not depend on where the stream was split
//! (the same requests and the same error as feeding it all at once).
//!
//! Input layout: byte 0 picks the body limit, bytes 1..9 seed the split
//! points, the rest is the stream.

#![no_main]

use dynacore::runtime::http::{Outcome, Parser};
use libfuzzer_sys::fuzz_target;

const LIMITS: [usize; 4] = [0, 7, 1024, 16 << 20];

/// Feeds `stream` in pieces whose sizes come from `seed`; returns what came
/// out (requests as (method, path, body), then the error if any).
fn run(stream: &[u8], limit: usize, mut seed: u64, split: bool) -> Vec<String> {
    let mut parser = Parser::new(limit);
    let mut buf: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    let mut reserved = 0usize;
    let mut pos = 0;
    while pos < stream.len() {
        let piece = if split {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            1 + (seed % 64) as usize
        } else {
            stream.len()
        };
        let end = (pos + piece).min(stream.len());
        buf.extend_from_slice(&stream[pos..end]);
        pos = end;
        loop {
            let advance = parser.advance(&buf, &mut |n| {
                reserved += n;
                true
            });
            assert!(advance.consumed <= buf.len(), "consumed past the input");
            assert!(
                reserved <= limit,
                "reserved {reserved} over the limit {limit}"
            );
            assert!(parser.body_capacity() <= limit);
            buf.drain(..advance.consumed);
            match advance.outcome {
                Outcome::NeedInput => break,
                Outcome::Request(r) => {
                    assert!(r.body.len() <= limit, "body over the limit");
                    reserved = 0;
                    out.push(format!("{} {} {:?}", r.method, r.path, r.body));
                }
                Outcome::Error(e) => {
                    out.push(format!("error {e:?}"));
                    return out;
                }
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 9 {
        return;
    }
    let limit = LIMITS[(data[0] & 3) as usize];
    let mut seed_bytes = [0u8; 8];
    seed_bytes.copy_from_slice(&data[1..9]);
    let seed = u64::from_le_bytes(seed_bytes) | 1;
    let stream = &data[9..];
    let whole = run(stream, limit, seed, false);
    let split = run(stream, limit, seed, true);
    assert_eq!(
        whole, split,
        "the outcome depends on where the stream was split"
    );
});
