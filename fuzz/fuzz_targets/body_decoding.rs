#![no_main]
//! See `dynacore::fuzzing::body_decoding` for what this drives and the
//! invariants it checks (gzip/deflate request bodies within the limit).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    dynacore::fuzzing::body_decoding(data);
});
