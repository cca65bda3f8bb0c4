//! A bounded least-recently-used store of answers the hub may reuse, shared by the request
//! tasks (a mutex around an `lru::LruCache`; 0 entries turns it off). What makes a reuse
//! correct is the key's business: the comparison and replica-answer caches put the replicas'
//! generations in theirs.

use std::{hash::Hash, num::NonZeroUsize, sync::Mutex};

/// Up to `entries` values by key, the least recently used dropped first.
pub struct Kept<K: Hash + Eq, V: Clone>(Option<Mutex<lru::LruCache<K, V>>>);

impl<K: Hash + Eq, V: Clone> std::fmt::Debug for Kept<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Kept")
            .field(&self.0.as_ref().map(|_| "enabled"))
            .finish()
    }
}

impl<K: Hash + Eq, V: Clone> Kept<K, V> {
    /// A store of `entries` values (0 turns it off: nothing is kept).
    pub fn new(entries: usize) -> Self {
        Self(NonZeroUsize::new(entries).map(|n| Mutex::new(lru::LruCache::new(n))))
    }

    /// Whether anything is kept at all.
    pub fn enabled(&self) -> bool {
        self.0.is_some()
    }

    /// A copy of the value kept under `key`.
    pub fn get(&self, key: &K) -> Option<V> {
        let cache = self.0.as_ref()?;
        cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    /// Keeps `value` under `key`.
    pub fn put(&self, key: K, value: V) {
        if let Some(cache) = &self.0 {
            cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .put(key, value);
        }
    }
}
