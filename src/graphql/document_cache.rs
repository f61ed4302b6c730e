//! Parsed documents, kept by their text: clients send the same few
//! operations again and again, and parsing is the largest fixed cost of a
//! request. Only parsing is cached. Validation (whose errors, depth and
//! complexity depend on the variables) still runs on every request.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ServerResult, Variables};
use lru::LruCache;

/// Documents kept at most.
pub const ENTRIES: usize = 256;
/// Longer documents are parsed every time, so the cache stays small
/// (a few MiB at most) whatever clients send.
pub const MAX_DOCUMENT_BYTES: usize = 8 * 1024;

/// The cache, shared by every request of one schema.
#[derive(Clone)]
pub struct DocumentCache {
    documents: Arc<Mutex<LruCache<Box<str>, ExecutableDocument>>>,
}

impl Default for DocumentCache {
    fn default() -> Self {
        let cap = NonZeroUsize::new(ENTRIES).unwrap_or(NonZeroUsize::MIN);
        Self { documents: Arc::new(Mutex::new(LruCache::new(cap))) }
    }
}

impl DocumentCache {
    fn get(&self, query: &str) -> Option<ExecutableDocument> {
        self.documents.lock().ok()?.get(query).cloned()
    }

    fn put(&self, query: &str, document: &ExecutableDocument) {
        if let Ok(mut documents) = self.documents.lock() {
            documents.put(query.into(), document.clone());
        }
    }
}

impl ExtensionFactory for DocumentCache {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Extension for DocumentCache {
    /// A document seen before is returned as it was parsed. The parse step's
    /// own checks (recursive depth, directives per field) depend on the text
    /// alone, so they passed for this text already; failures are not kept.
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        if query.len() > MAX_DOCUMENT_BYTES {
            return next.run(ctx, query, variables).await;
        }
        if let Some(document) = self.get(query) {
            return Ok(document);
        }
        let document = next.run(ctx, query, variables).await?;
        self.put(query, &document);
        Ok(document)
    }
}
