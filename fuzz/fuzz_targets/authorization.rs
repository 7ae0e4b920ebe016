#![no_main]
//! See `dynacore::fuzzing::authorization` for what this drives and the
//! invariants it checks (the SigV4 `Authorization` header parser and the
//! verifier's canonical request).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    dynacore::fuzzing::authorization(data);
});
