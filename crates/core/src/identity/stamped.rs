//! A cached value stamped with the identity generation and time it was built under.

use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) struct Stamped<T> {
    generation: u64,
    at: Instant,
    value: Arc<T>,
}

impl<T> Stamped<T> {
    pub(super) fn new(generation: u64, value: Arc<T>) -> Self {
        Self { generation, at: Instant::now(), value }
    }

    /// The value, if nothing changed locally since and it is younger than `ttl`.
    pub(super) fn fresh(&self, generation: u64, ttl: Duration) -> Option<Arc<T>> {
        (self.generation == generation && self.at.elapsed() < ttl).then(|| self.value.clone())
    }
}
