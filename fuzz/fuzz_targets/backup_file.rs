#![no_main]
//! See `dynacore::fuzzing::backup_file` for what this drives and the invariants it checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    dynacore::fuzzing::backup_file(data);
});
