//! `dynacore keygen FILE`: a new 32-byte random key, mode 0600, and never
//! an overwrite of an existing file (losing a key loses its data).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

fn keygen(path: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dynacore"))
        .arg("keygen")
        .arg(path)
        .output()
        .expect("run dynacore keygen")
}

#[test]
fn keygen_writes_a_private_random_key_and_refuses_to_overwrite() {
    let dir = common::fresh_data_dir("keygen");
    std::fs::create_dir_all(&dir).expect("dir");
    let (a, b) = (dir.join("a.key"), dir.join("b.key"));
    assert!(keygen(&a).status.success());
    assert!(keygen(&b).status.success());
    let key = std::fs::read(&a).expect("key");
    assert_eq!(key.len(), 32);
    assert_ne!(key, std::fs::read(&b).expect("key"), "two keys differ");
    let mode = std::fs::metadata(&a).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "mode {mode:o}");
    let again = keygen(&a);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(std::fs::read(&a).expect("key"), key, "the key is untouched");
    let _ = std::fs::remove_dir_all(&dir);
}
