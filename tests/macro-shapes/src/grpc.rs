//! `accounts.Accounts`, a tonic service as tonic's generated code would write it (a service
//! trait under `#[tonic::async_trait]` and a `Service` that routes by path), with prost-derive
//! messages: no `protoc` needed. Its methods carry `#[tally::track_event]` inside the
//! `#[tonic::async_trait]` impl, the usual way to annotate a tonic handler.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use tonic::body::Body;
use tonic::server::NamedService;
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;

/// `accounts.LoginRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LoginRequest {
    /// Who logs in.
    #[prost(string, tag = "1")]
    pub user: String,
    /// Their password.
    #[prost(string, tag = "2")]
    pub password: String,
}

/// `accounts.LoginReply`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LoginReply {
    /// The session.
    #[prost(string, tag = "1")]
    pub session: String,
}

/// The service trait, as tonic generates it.
#[tonic::async_trait]
pub trait Accounts: Send + Sync + 'static {
    /// `accounts.Accounts/Login`.
    async fn login(&self, request: Request<LoginRequest>) -> Result<Response<LoginReply>, Status>;
}

/// The application's implementation.
#[derive(Debug, Default)]
pub struct AccountsImpl;

#[tonic::async_trait]
impl Accounts for AccountsImpl {
    /// Succeeds for the password `correct horse`. Before answering, it emits `export.finished`
    /// itself, so that a test can see that the macro's event comes after the handler ran.
    #[tally::track_event(
        "auth.login",
        method = "password",
        on_err("auth.login_failed", method = "password", reason = err.message()),
    )]
    async fn login(&self, request: Request<LoginRequest>) -> Result<Response<LoginReply>, Status> {
        let LoginRequest { user, password } = request.into_inner();
        tally::track!("export.finished", rows = 1);
        if password == "correct horse" {
            Ok(Response::new(LoginReply { session: format!("s-{user}") }))
        } else {
            Err(Status::unauthenticated("wrong password"))
        }
    }
}

/// The routing `Service`, as tonic generates it.
#[derive(Debug)]
pub struct AccountsServer<T> {
    inner: Arc<T>,
}

impl<T> AccountsServer<T> {
    /// Serves `inner`.
    pub fn new(inner: T) -> Self {
        AccountsServer { inner: Arc::new(inner) }
    }
}

impl<T> Clone for AccountsServer<T> {
    fn clone(&self) -> Self {
        AccountsServer { inner: Arc::clone(&self.inner) }
    }
}

impl<T> NamedService for AccountsServer<T> {
    const NAME: &'static str = "accounts.Accounts";
}

impl<T: Accounts> tower::Service<http::Request<Body>> for AccountsServer<T> {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let inner = Arc::clone(&self.inner);
        match request.uri().path() {
            "/accounts.Accounts/Login" => Box::pin(async move {
                let login = tower::service_fn(move |request: Request<LoginRequest>| {
                    let inner = Arc::clone(&inner);
                    async move { inner.login(request).await }
                });
                let mut grpc = tonic::server::Grpc::new(ProstCodec::<LoginReply, LoginRequest>::default());
                Ok(grpc.unary(login, request).await)
            }),
            _ => Box::pin(async { Ok(Status::unimplemented("").into_http()) }),
        }
    }
}
