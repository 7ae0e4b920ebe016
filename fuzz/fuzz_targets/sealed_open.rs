#![no_main]
//! See `dynacore::fuzzing::sealed_open` for what this drives and the invariants it checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    dynacore::fuzzing::sealed_open(data);
});
