//! Async functions: `?`, early `return`, `on_err` with `err`, a type alias of `Result`.

#[derive(Debug)]
pub struct Session {
    pub user: String,
}

#[derive(Debug)]
pub enum AuthError {
    BadPassword,
    Locked,
}

impl AuthError {
    pub fn kind(&self) -> &'static str {
        match self {
            AuthError::BadPassword => "bad_password",
            AuthError::Locked => "locked",
        }
    }
}

pub type AuthResult<T> = Result<T, AuthError>;

async fn check(password: &str) -> Result<(), AuthError> {
    match password {
        "locked" => Err(AuthError::Locked),
        "secret" => Ok(()),
        _ => Err(AuthError::BadPassword),
    }
}

#[tally::track_event("auth.login", method = "password", on_err("auth.login_failed", method = "password", reason = err.kind()))]
pub async fn login(user: String, password: String) -> AuthResult<Session> {
    if user.is_empty() {
        return Err(AuthError::BadPassword);
    }
    check(&password).await?;
    Ok(Session { user })
}

#[tally::track_event("project.deleted", project_id = id)]
pub async fn delete(id: String) {
    drop(id);
}

#[tally::track_event("project.created", project_id = ret, has_client = false)]
pub async fn create(name: &str) -> String {
    format!("p-{name}")
}

fn main() {
    let _ = login(String::new(), String::new());
    let _ = delete(String::new());
    let _ = create("x");
}
