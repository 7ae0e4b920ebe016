//! What the request logs learn from deep inside a request without a trace
//! passed through every layer: the request's first partition key hash
//! (noted where keys are placed, `table::key::make_key`) and the time it
//! waited for its writes to be durable (`write::Committed::wait`, the
//! group commit's fdatasync).
//!
//! A [`Scoped`] future makes its [`Scope`] the shard thread's current one
//! for the length of each poll and restores the previous one after, so a
//! request's scope is current exactly while code of that request runs,
//! however requests interleave on the shard (a task-local, without the
//! runtime knowing). A request served here for another shard runs in a
//! scope of its own whose sync time goes back with the reply
//! (`MeshReply::Http`), and a write made on another shard for a request
//! reports its wait in its `WriteReport`. A cross-shard transaction's
//! coordinator task runs in the scope of its request: the decision
//! record's sync counts, and the prepares' (each participant's vote says
//! how long its prepare record took; they sync side by side, so the
//! longest counts).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

thread_local! {
    static CURRENT: RefCell<Option<Rc<Scope>>> = const { RefCell::new(None) };
}

/// One request's figures.
#[derive(Debug, Default)]
pub struct Scope {
    key_hash: Cell<Option<u64>>,
    sync_us: Cell<u64>,
}

impl Scope {
    pub fn key_hash(&self) -> Option<u64> {
        self.key_hash.get()
    }

    pub fn sync_us(&self) -> u64 {
        self.sync_us.get()
    }
}

/// `inner`, run with `scope` current.
pub struct Scoped<F> {
    scope: Rc<Scope>,
    inner: Pin<Box<F>>,
}

impl<F: Future> Scoped<F> {
    pub fn new(scope: Rc<Scope>, inner: F) -> Self {
        Scoped {
            scope,
            inner: Box::pin(inner),
        }
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let previous = CURRENT.with(|c| c.replace(Some(this.scope.clone())));
        let result = this.inner.as_mut().poll(cx);
        CURRENT.with(|c| *c.borrow_mut() = previous);
        result
    }
}

/// The scope current now, if any (for a task spawned on a request's
/// behalf).
pub fn current() -> Option<Rc<Scope>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Notes the current request's partition key hash (the first one wins).
pub fn note_key_hash(hash: u64) {
    CURRENT.with(|c| {
        if let Some(scope) = c.borrow().as_ref()
            && scope.key_hash.get().is_none()
        {
            scope.key_hash.set(Some(hash));
        }
    });
}

/// Adds to the current request's durable wait.
pub fn add_sync_us(us: u64) {
    CURRENT.with(|c| {
        if let Some(scope) = c.borrow().as_ref() {
            scope.sync_us.set(scope.sync_us.get().saturating_add(us));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Polls `f` to completion on this thread (it must not wait on I/O).
    fn block_on<F: Future>(f: F) -> F::Output {
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut f = Box::pin(f);
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    /// Yields once, so that two scoped futures interleave.
    struct YieldOnce(bool);
    impl Future for YieldOnce {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                Poll::Ready(())
            } else {
                self.0 = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }

    #[test]
    fn interleaved_requests_keep_their_own_figures() {
        let (a, b) = (Rc::new(Scope::default()), Rc::new(Scope::default()));
        let request = |hash: u64, sync: u64| async move {
            note_key_hash(hash);
            YieldOnce(false).await;
            note_key_hash(hash + 100);
            add_sync_us(sync);
        };
        let (fa, fb) = (
            Scoped::new(a.clone(), request(1, 10)),
            Scoped::new(b.clone(), request(2, 20)),
        );
        block_on(async {
            let mut fa = Box::pin(fa);
            let mut fb = Box::pin(fb);
            let (mut da, mut db) = (false, false);
            std::future::poll_fn(|cx| {
                if !da {
                    da = fa.as_mut().poll(cx).is_ready();
                }
                if !db {
                    db = fb.as_mut().poll(cx).is_ready();
                }
                if da && db {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
        });
        assert_eq!((a.key_hash(), a.sync_us()), (Some(1), 10));
        assert_eq!((b.key_hash(), b.sync_us()), (Some(2), 20));
        // Outside any scope, nothing is recorded anywhere.
        note_key_hash(9);
        add_sync_us(9);
        assert_eq!(a.sync_us(), 10);
    }
}
