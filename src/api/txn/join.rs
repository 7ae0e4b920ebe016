//! Waiting for several cross-shard calls at once (a coordinator's fan-out).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::api::shard::LocalFuture;

/// Polls every future until all are done; their outputs in order.
pub async fn join_all<T>(futures: Vec<LocalFuture<T>>) -> Vec<T> {
    struct JoinAll<T> {
        futures: Vec<Option<LocalFuture<T>>>,
        out: Vec<Option<T>>,
    }
    impl<T> Unpin for JoinAll<T> {}
    impl<T> Future for JoinAll<T> {
        type Output = Vec<T>;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<T>> {
            let this = self.get_mut();
            let mut pending = false;
            for (slot, out) in this.futures.iter_mut().zip(this.out.iter_mut()) {
                if let Some(future) = slot {
                    match future.as_mut().poll(cx) {
                        Poll::Ready(value) => {
                            *out = Some(value);
                            *slot = None;
                        }
                        Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                return Poll::Pending;
            }
            Poll::Ready(this.out.iter_mut().filter_map(Option::take).collect())
        }
    }
    let out = futures.iter().map(|_| None).collect();
    JoinAll {
        futures: futures.into_iter().map(Some).collect(),
        out,
    }
    .await
}
