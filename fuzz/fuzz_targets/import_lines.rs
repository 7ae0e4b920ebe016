#![no_main]
//! See `dynacore::fuzzing::import_lines` for what this drives and the invariants it checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    dynacore::fuzzing::import_lines(data);
});
