//! TLS front door through the real binary: a CA and a server certificate
//! generated in the test (openssl CLI), boto3 verifying the chain against
//! that CA for real operations, a client refusing the certificate when it
//! does not trust the CA, the handshake deadline cutting off a client that
//! never sends a ClientHello, the request deadline applying inside TLS,
//! and a certificate reload on SIGHUP that keeps live connections.
//!
//! Needs `openssl` and `python3` with boto3 (`python3 -m pip install
//! boto3`); a missing tool fails the test with that message.

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Server, free_port, fresh_data_dir, start_with_config};

struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn ca(&self) -> String {
        self.path("ca.pem")
    }
    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().to_string()
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI is installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, and a server certificate `server-<tag>.pem` (key
/// `server-<tag>.key`) for localhost and 127.0.0.1 signed by it.
fn pki(name: &str) -> Pki {
    let dir = fresh_data_dir(name);
    std::fs::create_dir_all(&dir).expect("pki dir");
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=dynacore test CA",
        ],
    );
    let pki = Pki { dir };
    server_cert(&pki, "a");
    pki
}

fn server_cert(pki: &Pki, tag: &str) {
    std::fs::write(
        pki.dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext");
    let key = format!("server-{tag}.key");
    let csr = format!("server-{tag}.csr");
    let pem = format!("server-{tag}.pem");
    let subject = format!("/CN=dynacore-{tag}");
    openssl(
        &pki.dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &subject,
        ],
    );
    openssl(
        &pki.dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

/// Runs a Python script with `args`; returns its stdout, failing the test
/// with its stderr on a non-zero exit.
fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 is installed");
    assert!(
        out.status.success(),
        "python script failed (boto3 missing? python3 -m pip install boto3):\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn start_tls(name: &str, pki: &Pki, config: Option<&str>) -> (Server, u16) {
    let tls_port = free_port();
    let listen = format!("127.0.0.1:{tls_port}");
    let (cert, key) = (pki.path("server-a.pem"), pki.path("server-a.key"));
    let server = match config {
        None => Server::start_with(
            name,
            2,
            &[
                "--tls-listen",
                &listen,
                "--tls-cert",
                &cert,
                "--tls-key",
                &key,
            ],
        ),
        // Everything through the config file (the TLS keys included).
        Some(extra) => start_with_config(
            name,
            2,
            &format!(
                "tls_listen = \"{listen}\"\ntls_cert = \"{cert}\"\ntls_key = \"{key}\"\n{extra}"
            ),
        ),
    };
    (server, tls_port)
}

const BOTO3_ROUND_TRIP: &str = r#"
import sys, boto3
port, ca = sys.argv[1], sys.argv[2]
for host in ("localhost", "127.0.0.1"):
    ddb = boto3.client("dynamodb", endpoint_url=f"https://{host}:{port}", region_name="us-east-1",
                       aws_access_key_id="AKIDTEST", aws_secret_access_key="secret", verify=ca)
    name = "tls_" + host.replace(".", "_")
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 600})
    for i in range(50):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"k{i}"}, "v": {"S": "x" * (i * 100)}})
    for i in range(50):
        got = ddb.get_item(TableName=name, Key={"pk": {"S": f"k{i}"}}, ConsistentRead=True)["Item"]
        assert got["v"]["S"] == "x" * (i * 100), (i, got)
    # A reply large enough to take several TLS records (and gzip).
    n = sum(page["Count"] for page in ddb.get_paginator("scan").paginate(TableName=name))
    assert n == 50, n
print("ok")
"#;

#[test]
fn boto3_over_https_verifies_the_certificate_and_round_trips() {
    let pki = pki("tls-ok");
    let (server, tls_port) = start_tls("tls-ok", &pki, None);
    let out = python(BOTO3_ROUND_TRIP, &[&tls_port.to_string(), &pki.ca()]);
    assert_eq!(out.trim(), "ok");
    // The plaintext listener keeps serving beside it.
    let (status, _) = server.call("ListTables", "{}");
    assert_eq!(status, 200);
}

const UNTRUSTED: &str = r#"
import sys, ssl, socket, boto3, botocore
port = int(sys.argv[1])
# The system trust store does not hold the test CA: boto3 must refuse.
ddb = boto3.client("dynamodb", endpoint_url=f"https://localhost:{port}", region_name="us-east-1",
                   aws_access_key_id="AKIDTEST", aws_secret_access_key="secret",
                   config=botocore.config.Config(retries={"max_attempts": 1}))
try:
    ddb.list_tables()
    print("accepted an untrusted certificate")
    sys.exit(1)
except botocore.exceptions.SSLError as e:
    assert "CERTIFICATE_VERIFY_FAILED" in str(e), e
# Trusting the CA but asking for another name: refused too.
ctx = ssl.create_default_context(cafile=sys.argv[2])
try:
    with socket.create_connection(("127.0.0.1", port), timeout=60) as raw:
        with ctx.wrap_socket(raw, server_hostname="not-this-host.example") as tls:
            print("accepted a certificate for another name")
            sys.exit(1)
except ssl.SSLCertVerificationError:
    pass
# Plain TLS 1.2 and 1.3 with ALPN http/1.1 both work against the CA.
for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
    ctx = ssl.create_default_context(cafile=sys.argv[2])
    ctx.minimum_version = ctx.maximum_version = version
    ctx.set_alpn_protocols(["http/1.1"])
    with socket.create_connection(("127.0.0.1", port), timeout=60) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version], tls.version()
            assert tls.selected_alpn_protocol() == "http/1.1", tls.selected_alpn_protocol()
            tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            reply = b""
            while True:
                chunk = tls.recv(4096)
                if not chunk:
                    break
                reply += chunk
            assert reply.startswith(b"HTTP/1.1 200"), reply
print("ok")
"#;

#[test]
fn an_untrusted_or_misnamed_certificate_is_refused_by_the_client() {
    let pki = pki("tls-untrusted");
    let (_server, tls_port) = start_tls("tls-untrusted", &pki, None);
    let out = python(UNTRUSTED, &[&tls_port.to_string(), &pki.ca()]);
    assert_eq!(out.trim(), "ok");
}

/// Reads until the server closes; panics if it is still open after 120 s.
fn wait_for_close(stream: &mut TcpStream) -> Duration {
    let start = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut chunk = [0u8; 1024];
    while start.elapsed() < Duration::from_secs(120) {
        match stream.read(&mut chunk) {
            Ok(0) => return start.elapsed(),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return start.elapsed(),
        }
    }
    panic!("the server kept a silent TLS connection open for 120 s");
}

#[test]
fn a_client_that_never_finishes_its_handshake_is_cut_off() {
    let pki = pki("tls-handshake");
    // Every other deadline far away: only the handshake deadline can fire.
    let (server, tls_port) = start_tls(
        "tls-handshake",
        &pki,
        Some(
            "tls_handshake_timeout_ms = 300\nheader_read_timeout_ms = 600000\n\
             idle_timeout_ms = 600000\nwrite_timeout_ms = 600000\n",
        ),
    );
    // Connected, silent: no ClientHello.
    let mut silent = TcpStream::connect(("127.0.0.1", tls_port)).expect("connect");
    wait_for_close(&mut silent);
    // Half a ClientHello (a record header promising more than comes).
    let mut half = TcpStream::connect(("127.0.0.1", tls_port)).expect("connect");
    std::io::Write::write_all(&mut half, &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]).expect("write");
    wait_for_close(&mut half);
    // The slots came back: a real client still gets through.
    let out = python(BOTO3_ROUND_TRIP, &[&tls_port.to_string(), &pki.ca()]);
    assert_eq!(out.trim(), "ok");
    drop(server);
}

const SLOW_REQUEST: &str = r#"
import sys, ssl, socket, time
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
with socket.create_connection(("127.0.0.1", port), timeout=120) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
        reply = b""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                tls.sendall(b"X-A: b\r\n")
            except OSError:
                break
            tls.settimeout(0.1)
            try:
                chunk = tls.recv(4096)
            except (socket.timeout, TimeoutError):
                continue
            except (ssl.SSLError, OSError):
                break
            if not chunk:
                break
            reply += chunk
        assert reply.startswith(b"HTTP/1.1 408"), reply
print("ok")
"#;

#[test]
fn the_request_deadline_applies_inside_tls() {
    let pki = pki("tls-slow");
    let (_server, tls_port) = start_tls(
        "tls-slow",
        &pki,
        Some(
            "header_read_timeout_ms = 1000\nidle_timeout_ms = 600000\nwrite_timeout_ms = 600000\n",
        ),
    );
    let out = python(SLOW_REQUEST, &[&tls_port.to_string(), &pki.ca()]);
    assert_eq!(out.trim(), "ok");
}

const RELOAD: &str = r#"
import sys, ssl, socket, time, subprocess, hashlib
port, ca, pid, new_pem = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
def exchange(tls):
    tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    reply = b""
    while b"\r\n\r\n" not in reply:
        reply += tls.recv(4096)
    head, _, body = reply.partition(b"\r\n\r\n")
    length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(body) < length:
        body += tls.recv(4096)
    assert head.startswith(b"HTTP/1.1 200"), head
def served_cert():
    with socket.create_connection(("127.0.0.1", port), timeout=60) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            exchange(tls)
            return tls.getpeercert(binary_form=True)
new_der = ssl.PEM_cert_to_DER_cert(open(new_pem).read())
old_der = served_cert()
assert old_der != new_der
raw = socket.create_connection(("127.0.0.1", port), timeout=60)
live = ctx.wrap_socket(raw, server_hostname="localhost")
exchange(live)
# The files were replaced before this script ran; now tell the server.
import os, signal
os.kill(pid, signal.SIGHUP)
deadline = time.monotonic() + 60
while served_cert() != new_der:
    assert time.monotonic() < deadline, "the new certificate was not served within 60 s of SIGHUP"
    time.sleep(0.05)
# The connection made before the reload still works.
exchange(live)
assert live.getpeercert(binary_form=True) == old_der
live.close()
print("ok")
"#;

#[test]
fn sighup_reloads_the_certificate_without_dropping_live_connections() {
    let pki = pki("tls-reload");
    // The server reads the files it was pointed at; the test rewrites them.
    std::fs::copy(pki.path("server-a.pem"), pki.path("live.pem")).expect("copy");
    std::fs::copy(pki.path("server-a.key"), pki.path("live.key")).expect("copy");
    let tls_port = free_port();
    let listen = format!("127.0.0.1:{tls_port}");
    let (cert, key) = (pki.path("live.pem"), pki.path("live.key"));
    let server = Server::start_with(
        "tls-reload",
        2,
        &[
            "--tls-listen",
            &listen,
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
        ],
    );
    server_cert(&pki, "b");
    let pid = server.child.as_ref().expect("running").id();
    std::fs::copy(pki.path("server-b.key"), pki.path("live.key")).expect("copy");
    std::fs::copy(pki.path("server-b.pem"), pki.path("live.pem")).expect("copy");
    let out = python(
        RELOAD,
        &[
            &tls_port.to_string(),
            &pki.ca(),
            &pid.to_string(),
            &pki.path("server-b.pem"),
        ],
    );
    assert_eq!(out.trim(), "ok");
}

#[test]
fn tls_listen_without_a_certificate_refuses_to_start() {
    let tls_port = free_port();
    let out = Command::new(env!("CARGO_BIN_EXE_dynacore"))
        .args([
            "serve",
            "--profile",
            "test_min",
            "--shards",
            "1",
            "--listen",
        ])
        .arg(format!("127.0.0.1:{}", free_port()))
        .arg("--data-dir")
        .arg(fresh_data_dir("tls-nocert"))
        .arg("--tls-listen")
        .arg(format!("127.0.0.1:{tls_port}"))
        .output()
        .expect("run dynacore");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--tls-cert"), "{err}");
}

const TLS_ONLY: &str = r#"
import sys, time, boto3
port, ca = sys.argv[1], sys.argv[2]
ddb = boto3.client("dynamodb", endpoint_url=f"https://localhost:{port}", region_name="us-east-1",
                   aws_access_key_id="AKIDTEST", aws_secret_access_key="secret", verify=ca)
deadline = time.monotonic() + 120
while True:
    try:
        ddb.list_tables()
        break
    except Exception as e:
        assert time.monotonic() < deadline, f"no TLS answer within 120 s: {e}"
        time.sleep(0.05)
print("ok")
"#;

#[test]
fn tls_alone_without_a_plaintext_listener() {
    let pki = pki("tls-only");
    let tls_port = free_port();
    let data_dir = fresh_data_dir("tls-only");
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let child = Command::new(env!("CARGO_BIN_EXE_dynacore"))
        .args([
            "serve",
            "--profile",
            "test_min",
            "--shards",
            "2",
            "--listen",
            "",
        ])
        .arg("--data-dir")
        .arg(&data_dir)
        .arg("--tls-listen")
        .arg(format!("127.0.0.1:{tls_port}"))
        .args([
            "--tls-cert",
            &pki.path("server-a.pem"),
            "--tls-key",
            &pki.path("server-a.key"),
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run dynacore");
    let child = KillOnDrop(child);
    let out = python(TLS_ONLY, &[&tls_port.to_string(), &pki.ca()]);
    drop(child);
    let _ = std::fs::remove_dir_all(&data_dir);
    assert_eq!(out.trim(), "ok");
}
