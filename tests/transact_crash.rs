//! Crash safety of transactions in the real process: SIGKILL the server
//! (2 shards) under a concurrent transfer workload, several times. After
//! every restart the total is unchanged, every acknowledged transfer is
//! applied, and of the transfers in flight at the kill each is applied
//! wholly or not at all (the balances are explained by the acknowledged
//! ones plus some subset of those in flight). Each transfer carries a
//! ClientRequestToken, so an SDK retry that reaches the restarted server
//! cannot apply it twice.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::transfers::{Transfer, audit, open_accounts, transfer};
use common::{Rng, Server};

const ACCOUNTS: usize = 6;
const BALANCE: i64 = 1000;

type Move = (usize, usize, i64);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_transfers_survive_sigkill() {
    let seed = common::seed();
    eprintln!("DYNACORE_SEED={seed}");
    let mut server = Server::start("txn-crash", 2);
    open_accounts(&server.client(), ACCOUNTS, BALANCE).await;
    let mut expected = [BALANCE; ACCOUNTS];
    for round in 0..3u64 {
        let client = server.client();
        let acked: Arc<Mutex<Vec<Move>>> = Arc::default();
        let in_flight: Arc<Mutex<Vec<Option<Move>>>> = Arc::new(Mutex::new(vec![None; 4]));
        let mut writers = Vec::new();
        for w in 0..4usize {
            let (client, acked, in_flight) = (client.clone(), acked.clone(), in_flight.clone());
            writers.push(tokio::spawn(async move {
                let mut rng = Rng::new(seed ^ (round << 8) ^ w as u64);
                for i in 0.. {
                    let from = rng.below(ACCOUNTS as u64) as usize;
                    let to = (from + 1 + rng.below(ACCOUNTS as u64 - 1) as usize) % ACCOUNTS;
                    let amount = 1 + rng.below(50) as i64;
                    in_flight.lock().expect("in flight")[w] = Some((from, to, amount));
                    let token = format!("r{round}-w{w}-{i}-{seed:x}");
                    match transfer(&client, from, to, amount, Some(token)).await {
                        Transfer::Applied => {
                            acked.lock().expect("acked").push((from, to, amount));
                            in_flight.lock().expect("in flight")[w] = None;
                        }
                        Transfer::Cancelled(_) => {
                            in_flight.lock().expect("in flight")[w] = None;
                        }
                        // The server went away: this one stays in doubt.
                        Transfer::Failed(_) => break,
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(800)).await;
        server.kill();
        for w in writers {
            w.await.expect("writer");
        }
        server.launch().expect("restart after SIGKILL");
        let acked = acked.lock().expect("acked").clone();
        let in_flight: Vec<Move> = in_flight
            .lock()
            .expect("in flight")
            .iter()
            .flatten()
            .copied()
            .collect();
        assert!(
            !acked.is_empty(),
            "round {round}: some transfers were acknowledged"
        );
        for (from, to, amount) in &acked {
            expected[*from] -= amount;
            expected[*to] += amount;
        }
        let client = server.client();
        let balances = loop {
            // Recovery resolves in-doubt transactions in the background:
            // a read meeting one waits its turn or is cancelled; retry.
            if let Some(b) = audit(&client, ACCOUNTS).await.expect("audit") {
                break b;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(
            balances.iter().sum::<i64>(),
            BALANCE * ACCOUNTS as i64,
            "round {round}: the total changed: {balances:?}"
        );
        // Which of the in-flight transfers were applied (each all or none)?
        let explained = (0..1u32 << in_flight.len()).find_map(|mask| {
            let mut candidate = expected;
            for (bit, (from, to, amount)) in in_flight.iter().enumerate() {
                if mask & (1 << bit) != 0 {
                    candidate[*from] -= amount;
                    candidate[*to] += amount;
                }
            }
            (candidate.to_vec() == balances).then_some(candidate)
        });
        let Some(now) = explained else {
            panic!(
                "round {round}: balances {balances:?} are not the acknowledged transfers {expected:?} plus some of those in flight {in_flight:?}"
            );
        };
        expected = now;
        eprintln!(
            "round {round}: {} acknowledged, {} in flight, balances {balances:?}",
            acked.len(),
            in_flight.len()
        );
    }
}
