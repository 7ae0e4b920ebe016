#![no_main]
//! See `dynacore::fuzzing::item_round_trip` for what this drives and the invariants it checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    dynacore::fuzzing::item_round_trip(data);
});
