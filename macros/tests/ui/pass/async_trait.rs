//! Trait methods that return a future: `#[track_event]` inside an `#[async_trait]` impl (which
//! expands first), a boxed future written by hand, a `BoxFuture` from `.boxed()`, and old
//! async-trait's inner `async fn`. Each annotated future stays `Send`.

use std::future::Future;
use std::pin::Pin;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

#[derive(Debug)]
pub struct Refused(&'static str);

#[async_trait::async_trait]
pub trait Store {
    async fn create(&self, name: String) -> Result<String, Refused>;
    async fn remove(&mut self, id: &str);
}

pub struct Memory {
    names: Vec<String>,
}

#[async_trait::async_trait]
impl Store for Memory {
    #[tally::track_event(
        "project.created",
        project_id = ret,
        has_client = self.names.is_empty(),
        on_err("auth.login_failed", method = "sso", reason = err.0),
    )]
    async fn create(&self, name: String) -> Result<String, Refused> {
        if name.is_empty() {
            return Err(Refused("no name"));
        }
        Ok(name)
    }

    #[tally::track_event("project.deleted", project_id = id)]
    async fn remove(&mut self, id: &str) {
        self.names.retain(|name| name != id);
    }
}

pub trait Export {
    fn export(&self) -> Pin<Box<dyn Future<Output = Result<usize, Refused>> + Send + '_>>;
}

impl Export for Memory {
    #[tally::track_event("export.finished", rows = ret)]
    fn export(&self) -> Pin<Box<dyn Future<Output = Result<usize, Refused>> + Send + '_>> {
        Box::pin(async move {
            let rows = self.names.len();
            if rows == 0 {
                return Err(Refused("empty"));
            }
            Ok(rows)
        })
    }
}

impl Memory {
    /// `async move { … }.boxed()` into a `BoxFuture`: `ret` is the `Ok` value of its `Output`.
    #[tally::track_event("export.finished", rows = ret, on_err("auth.login_failed", method = "sso", reason = err.0))]
    fn export_boxed(&self) -> BoxFuture<'_, Result<usize, Refused>> {
        async move {
            if self.names.is_empty() {
                return Err(Refused("empty"));
            }
            Ok(self.names.len())
        }
        .boxed()
    }

    /// async-trait before 0.1.44 wrote this; `self` in the attribute reads the inner `_self`.
    #[tally::track_event("export.finished", rows = self.names.len())]
    fn legacy(&self) -> Pin<Box<dyn Future<Output = usize> + Send + '_>> {
        async fn __legacy(_self: &Memory) -> usize {
            _self.names.len()
        }
        Box::pin(__legacy(self))
    }
}

fn assert_send<T: Send>(_: T) {}

fn main() {
    let mut memory = Memory { names: vec!["apollo".to_owned()] };
    assert_send(memory.create("gemini".to_owned()));
    assert_send(memory.export());
    assert_send(memory.legacy());
    assert_send(memory.export_boxed());
    assert_send(memory.remove("apollo"));
}
