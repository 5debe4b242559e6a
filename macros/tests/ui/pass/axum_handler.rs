//! Annotated axum handlers, with extractors, are still axum handlers.

use axum::extract::{Json, Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::Router;

#[derive(Clone)]
pub struct App;

#[derive(serde::Deserialize)]
pub struct NewProject {
    pub name: String,
    pub client_id: Option<String>,
}

#[derive(serde::Serialize)]
pub struct Project {
    pub id: String,
}

#[tally::track_event("project.created", project_id = ret.0.id, has_client = body.client_id.is_some())]
async fn create(State(_app): State<App>, Json(body): Json<NewProject>) -> Result<Json<Project>, StatusCode> {
    if body.name.is_empty() {
        return Err(StatusCode::UNPROCESSABLE_ENTITY);
    }
    Ok(Json(Project { id: format!("p-{}", body.name) }))
}

#[tally::track_event("project.deleted", project_id = id)]
async fn remove(Path(id): Path<String>) -> StatusCode {
    let _ = id;
    StatusCode::NO_CONTENT
}

fn main() {
    let _app: Router = Router::new()
        .route("/projects", post(create))
        .route("/projects/{id}", delete(remove))
        .with_state(App);
}
