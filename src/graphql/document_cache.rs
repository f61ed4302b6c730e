//! Parsed documents, kept by their text: clients send the same few
//! operations again and again, and parsing is the largest fixed cost of a
//! request. Only parsing is cached, at the edge; the guard's counts and
//! async-graphql's validation (whose errors depend on the variables) run
//! on every request.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::ExecutableDocument;
use lru::LruCache;

/// Documents kept at most.
pub const ENTRIES: usize = 256;
/// Longer documents are parsed every time, so the cache stays small
/// (a few MiB at most) whatever clients send.
pub const MAX_DOCUMENT_BYTES: usize = 8 * 1024;

/// The cache, shared by every request.
#[derive(Clone)]
pub struct DocumentCache {
    documents: Arc<Mutex<LruCache<Box<str>, Arc<ExecutableDocument>>>>,
}

impl Default for DocumentCache {
    fn default() -> Self {
        let cap = NonZeroUsize::new(ENTRIES).unwrap_or(NonZeroUsize::MIN);
        Self { documents: Arc::new(Mutex::new(LruCache::new(cap))) }
    }
}

impl DocumentCache {
    /// The parsed document of `query`, from the cache when seen before.
    /// Failures are not kept.
    pub fn parse(&self, query: &str) -> async_graphql::parser::Result<Arc<ExecutableDocument>> {
        if query.len() > MAX_DOCUMENT_BYTES {
            return async_graphql::parser::parse_query(query).map(Arc::new);
        }
        if let Some(document) = self.documents.lock().ok().and_then(|mut d| d.get(query).cloned()) {
            return Ok(document);
        }
        let document = Arc::new(async_graphql::parser::parse_query(query)?);
        if let Ok(mut documents) = self.documents.lock() {
            documents.put(query.into(), document.clone());
        }
        Ok(document)
    }
}
