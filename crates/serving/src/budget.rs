//! A request's computing budget: the time its future spends being polled — working, not waiting
//! for a database, a node or the network — summed over every poll. A document that passes every
//! static limit (tokens, fields, aliases, depth, complexity) can still cost more than it should;
//! once it has used its budget it is dropped at its next pause, which cancels it (a mutation
//! rolls back), and the caller is told so with a code.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, Instant},
};

/// A future that stops when the time spent polling it exceeds a budget.
#[derive(Debug)]
pub struct CpuBudget<F> {
    inner: Pin<Box<F>>,
    spent: Duration,
    budget: Duration,
}

/// The budget ran out; how much was spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exceeded(pub Duration);

impl<F: Future> CpuBudget<F> {
    /// `inner` with `budget` of polling time (zero: unlimited).
    pub fn new(inner: F, budget: Duration) -> Self {
        Self {
            inner: Box::pin(inner),
            spent: Duration::ZERO,
            budget,
        }
    }
}

impl<F: Future> Future for CpuBudget<F> {
    type Output = Result<F::Output, Exceeded>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let started = Instant::now();
        let polled = self.inner.as_mut().poll(cx);
        self.spent += started.elapsed();
        match polled {
            Poll::Ready(out) => Poll::Ready(Ok(out)),
            Poll::Pending if !self.budget.is_zero() && self.spent > self.budget => {
                Poll::Ready(Err(Exceeded(self.spent)))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Works `work` per poll (busy), yielding between, `polls` times.
    async fn busy(work: Duration, polls: u32) -> u32 {
        for _ in 0..polls {
            let until = Instant::now() + work;
            while Instant::now() < until {
                std::hint::spin_loop();
            }
            tokio::task::yield_now().await;
        }
        polls
    }

    #[tokio::test]
    async fn work_beyond_the_budget_is_stopped_at_its_next_pause() {
        let r = CpuBudget::new(
            busy(Duration::from_millis(5), 100),
            Duration::from_millis(20),
        )
        .await;
        let Err(Exceeded(spent)) = r else {
            panic!("500 ms of work finished within a 20 ms budget: {r:?}");
        };
        assert!(
            spent > Duration::from_millis(20) && spent < Duration::from_millis(400),
            "{spent:?}"
        );
    }

    #[tokio::test]
    async fn waiting_costs_nothing_and_zero_means_unlimited() {
        let waiting = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            7
        };
        assert_eq!(
            CpuBudget::new(waiting, Duration::from_millis(20)).await,
            Ok(7)
        );
        let work = busy(Duration::from_millis(5), 10);
        assert_eq!(CpuBudget::new(work, Duration::ZERO).await, Ok(10));
    }
}
