//! Counts of the DynamoDB requests a store made, for tests and cost estimates.

use std::sync::atomic::{AtomicU64, Ordering};

/// How many requests of each kind a [`super::DynamoStore`] sent (failed ones included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallCounts {
    pub get_item: u64,
    pub put_item: u64,
    pub update_item: u64,
    pub delete_item: u64,
    pub query: u64,
}

impl CallCounts {
    /// Requests that read (`GetItem`, `Query`).
    pub fn reads(&self) -> u64 {
        self.get_item + self.query
    }

    /// Requests that write (`PutItem`, `UpdateItem`, `DeleteItem`), conditional failures
    /// included.
    pub fn writes(&self) -> u64 {
        self.put_item + self.update_item + self.delete_item
    }

    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &CallCounts) -> CallCounts {
        CallCounts {
            get_item: self.get_item - earlier.get_item,
            put_item: self.put_item - earlier.put_item,
            update_item: self.update_item - earlier.update_item,
            delete_item: self.delete_item - earlier.delete_item,
            query: self.query - earlier.query,
        }
    }
}

#[derive(Debug, Default)]
pub struct Calls {
    get_item: AtomicU64,
    put_item: AtomicU64,
    update_item: AtomicU64,
    delete_item: AtomicU64,
    query: AtomicU64,
}

impl Calls {
    pub fn get(&self) {
        self.get_item.fetch_add(1, Ordering::Relaxed);
    }

    pub fn put(&self) {
        self.put_item.fetch_add(1, Ordering::Relaxed);
    }

    pub fn update(&self) {
        self.update_item.fetch_add(1, Ordering::Relaxed);
    }

    pub fn delete(&self) {
        self.delete_item.fetch_add(1, Ordering::Relaxed);
    }

    pub fn query(&self) {
        self.query.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> CallCounts {
        CallCounts {
            get_item: self.get_item.load(Ordering::Relaxed),
            put_item: self.put_item.load(Ordering::Relaxed),
            update_item: self.update_item.load(Ordering::Relaxed),
            delete_item: self.delete_item.load(Ordering::Relaxed),
            query: self.query.load(Ordering::Relaxed),
        }
    }
}
