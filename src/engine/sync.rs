//! Single-thread async coordination without a runtime dependency: a wait
//! list (tasks sleep until a condition holds) and an async mutex built on it.
//!
//! Invariant: conditions are re-checked on every wake, so spurious wakes are
//! harmless; every state change that can make a condition true calls
//! [`WaitList::wake_all`]. The number of registered wakers is bounded by the
//! number of tasks waiting (each registers at most once per poll).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

#[derive(Default)]
pub struct WaitList {
    wakers: RefCell<Vec<Waker>>,
}

impl WaitList {
    pub fn wake_all(&self) {
        let wakers = std::mem::take(&mut *self.wakers.borrow_mut());
        for waker in wakers {
            waker.wake();
        }
    }

    /// Completes once `condition()` is true (checked now and on every wake).
    pub fn wait_until<F: Fn() -> bool>(&self, condition: F) -> WaitUntil<'_, F> {
        WaitUntil {
            list: self,
            condition,
        }
    }
}

pub struct WaitUntil<'a, F> {
    list: &'a WaitList,
    condition: F,
}

impl<F: Fn() -> bool> Future for WaitUntil<'_, F> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if (self.condition)() {
            return Poll::Ready(());
        }
        let mut wakers = self.list.wakers.borrow_mut();
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// An async mutex for one thread: serializes manifest edits between the
/// flush task, compaction and `delete_prefix`.
#[derive(Default)]
pub struct AsyncMutex {
    locked: Cell<bool>,
    waiters: WaitList,
}

pub struct AsyncMutexGuard<'a> {
    mutex: &'a AsyncMutex,
}

impl AsyncMutex {
    pub async fn lock(&self) -> AsyncMutexGuard<'_> {
        loop {
            if !self.locked.get() {
                self.locked.set(true);
                return AsyncMutexGuard { mutex: self };
            }
            self.waiters.wait_until(|| !self.locked.get()).await;
        }
    }
}

impl Drop for AsyncMutexGuard<'_> {
    fn drop(&mut self) {
        self.mutex.locked.set(false);
        self.mutex.waiters.wake_all();
    }
}
