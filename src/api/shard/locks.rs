//! Per-shard item locks for read-check-write sequences.
//!
//! A shard is single-threaded, but an operation that reads an item from disk
//! awaits, and another task may write the same item meanwhile. Conditional
//! writes and writes that return old values therefore hold the item's lock
//! from their read until their write is applied (not until it is durable:
//! the engine orders durability itself). Plain puts need no lock.
//! Waiters are woken when the holder releases and retry; the lock table is
//! bounded by the number of in-flight requests.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use ahash::AHashMap;

#[derive(Default)]
pub struct KeyLocks {
    held: Rc<RefCell<AHashMap<Vec<u8>, Vec<Waker>>>>,
}

/// Releases the lock when dropped.
pub struct KeyGuard {
    held: Rc<RefCell<AHashMap<Vec<u8>, Vec<Waker>>>>,
    key: Vec<u8>,
}

impl KeyLocks {
    pub fn lock(&self, key: Vec<u8>) -> impl Future<Output = KeyGuard> + use<> {
        Acquire {
            held: self.held.clone(),
            key: Some(key),
        }
    }

    /// The lock of `key`, or None if `timeout` completes first (a bounded
    /// wait: transactions use it so no cycle of waits lasts).
    pub async fn lock_within(
        &self,
        key: Vec<u8>,
        timeout: impl Future<Output = ()>,
    ) -> Option<KeyGuard> {
        let acquire = async { Some(self.lock(key).await) };
        let expire = async {
            timeout.await;
            None
        };
        futures_lite::future::or(acquire, expire).await
    }

    /// Whether `key` is locked now.
    pub fn is_held(&self, key: &[u8]) -> bool {
        self.held.borrow().contains_key(key)
    }

    pub fn held_count(&self) -> usize {
        self.held.borrow().len()
    }
}

struct Acquire {
    held: Rc<RefCell<AHashMap<Vec<u8>, Vec<Waker>>>>,
    key: Option<Vec<u8>>,
}

impl Future for Acquire {
    type Output = KeyGuard;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<KeyGuard> {
        let held = self.held.clone();
        let mut table = held.borrow_mut();
        let Some(key) = self.key.take() else {
            // Polled after completion: a contract violation of the caller.
            return Poll::Pending;
        };
        match table.get_mut(&key) {
            Some(waiters) => {
                waiters.push(cx.waker().clone());
                self.key = Some(key);
                Poll::Pending
            }
            None => {
                table.insert(key.clone(), Vec::new());
                Poll::Ready(KeyGuard {
                    held: self.held.clone(),
                    key,
                })
            }
        }
    }
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        let waiters = self.held.borrow_mut().remove(&self.key);
        for waker in waiters.into_iter().flatten() {
            waker.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future;

    #[test]
    fn second_locker_waits_for_the_first() {
        let locks = KeyLocks::default();
        let first = future::block_on(locks.lock(b"k".to_vec()));
        let mut second = Box::pin(locks.lock(b"k".to_vec()));
        assert!(future::block_on(future::poll_once(&mut second)).is_none());
        let other = future::block_on(locks.lock(b"other".to_vec()));
        drop(first);
        let guard = future::block_on(second);
        assert_eq!(locks.held_count(), 2);
        drop(guard);
        drop(other);
        assert_eq!(locks.held_count(), 0);
    }
}
