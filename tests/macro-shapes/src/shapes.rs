//! Free functions, methods and trait impls in the forms users write them: sync and async,
//! one-expression bodies, `Result` and plain returns, `impl Trait` returns, async-trait
//! methods, a hand-written boxed future and a `BoxFuture` built with `.boxed()`.

use std::future::Future;
use std::pin::Pin;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

/// Why a call was refused.
#[derive(Debug)]
pub struct Refused(pub &'static str);

/// A one-expression body returning a plain value.
#[tally::track_event("export.finished", rows = ret)]
#[must_use]
pub fn rows(count: u32) -> u32 {
    count
}

/// A one-expression body returning `()`.
#[tally::track_event("project.deleted", project_id = id)]
pub fn delete(id: &str) {
    let _ = id.len();
}

/// A one-expression body returning a `Result`, with a failure event.
///
/// # Errors
/// When the password is empty.
#[tally::track_event("auth.login", method = "password", on_err("auth.login_failed", method = "password", reason = err.0))]
pub fn login(password: &str) -> Result<(), Refused> {
    if password.is_empty() { Err(Refused("empty password")) } else { Ok(()) }
}

/// An `async fn` with a one-expression body.
#[tally::track_event("project.created", project_id = ret, has_client = false)]
pub async fn create(name: &str) -> String {
    format!("p-{name}")
}

/// An `async fn` returning a `Result`, with `?`.
///
/// # Errors
/// When the id is not a number.
#[tally::track_event("export.finished", rows = ret, on_err("auth.login_failed", method = "sso", reason = err.0))]
pub async fn parse_rows(text: &str) -> Result<u32, Refused> {
    let rows = text.parse().map_err(|_| Refused("not a number"))?;
    Ok(rows)
}

/// An `impl Trait` return.
#[tally::track_event("export.finished", rows = names.len())]
pub fn sorted(names: &[String]) -> impl Iterator<Item = &String> {
    names.iter()
}

/// A synchronous function that does some work, then returns `impl Future` from an async
/// block: the event is emitted when the future completes.
#[tally::track_event("export.finished", rows = ret)]
pub fn rows_later(count: u32) -> impl Future<Output = u32> {
    let doubled = count * 2;
    async move { doubled }
}

/// Methods with every receiver.
#[derive(Default)]
pub struct Store {
    projects: Vec<String>,
}

impl Store {
    /// An associated function.
    #[tally::track_event("export.finished", rows = 0)]
    #[must_use]
    pub fn new() -> Self {
        Store::default()
    }

    /// `&mut self`.
    #[tally::track_event("project.created", project_id = ret, has_client = self.projects.is_empty())]
    pub fn add(&mut self, name: &str) -> String {
        self.projects.push(name.to_owned());
        format!("p-{}", self.projects.len())
    }

    /// `self`.
    #[tally::track_event("export.finished", rows = self.projects.len())]
    #[must_use]
    pub fn into_names(self) -> Vec<String> {
        self.projects
    }

    /// An async method.
    #[tally::track_event("export.finished", rows = ret)]
    pub async fn count(&self) -> usize {
        self.projects.len()
    }

    /// A `BoxFuture` built with `FutureExt::boxed`, as handlers written for tower's
    /// `BoxService` or for a framework that wants `BoxFuture`s return it: the async block is
    /// instrumented, so the event follows the future's `Result`, when it completes.
    #[tally::track_event("export.finished", rows = ret, on_err("auth.login_failed", method = "sso", reason = err.0))]
    #[must_use]
    pub fn export_boxed(&self, limit: usize) -> BoxFuture<'_, Result<usize, Refused>> {
        async move {
            if limit == 0 {
                return Err(Refused("nothing to export"));
            }
            Ok(self.projects.len().min(limit))
        }
        .boxed()
    }
}

/// A trait whose methods are `async fn`s, implemented under `#[async_trait]`.
#[async_trait::async_trait]
pub trait Projects {
    /// Creates a project.
    async fn open(&self, name: String) -> Result<String, Refused>;
    /// Touches a project.
    async fn touch(&self, id: &str);
}

#[async_trait::async_trait]
impl Projects for Store {
    // `self` and the arguments are read when the method is called, `ret`/`err` when the
    // future completes.
    #[tally::track_event(
        "project.created",
        project_id = ret,
        has_client = self.projects.is_empty(),
        on_err("project.deleted", project_id = name),
    )]
    async fn open(&self, name: String) -> Result<String, Refused> {
        if name.is_empty() {
            return Err(Refused("a project needs a name"));
        }
        Ok(format!("p-{name}"))
    }

    #[tally::track_event("project.deleted", project_id = id)]
    async fn touch(&self, id: &str) {}
}

/// The boxed future of an async method.
pub type Exported<'a> = Pin<Box<dyn Future<Output = Result<usize, Refused>> + Send + 'a>>;

/// A trait whose method returns a boxed future, implemented by hand.
pub trait Exporter {
    /// Exports the projects.
    fn export(&self, limit: usize) -> Exported<'_>;
    /// Exports the projects, the future's type written out.
    fn export_all(&self) -> Pin<Box<dyn Future<Output = Result<usize, Refused>> + Send + '_>>;
}

impl Exporter for Store {
    // The alias hides the future's `Output`: `ret` is whatever it is.
    #[tally::track_event("export.finished", rows = ret, on_err("auth.login_failed", method = "sso", reason = err.0))]
    fn export(&self, limit: usize) -> Exported<'_> {
        Box::pin(async move {
            if limit == 0 {
                return Err(Refused("nothing to export"));
            }
            Ok(self.projects.len().min(limit))
        })
    }

    #[tally::track_event("export.finished", rows = ret)]
    fn export_all(&self) -> Pin<Box<dyn Future<Output = Result<usize, Refused>> + Send + '_>> {
        Box::pin(async move { Ok(self.projects.len()) })
    }
}
