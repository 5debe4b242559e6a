//! Creating a dashboard in PostHog: one authenticated POST of the template.

use std::time::Duration;

use serde_json::Value;

use crate::error::CliError;

/// POSTs `body` (a `{"template": …}` document) to the project's
/// `dashboards/create_from_template_json/` endpoint and describes the dashboard created.
pub(crate) fn create_dashboard(host: &str, project: u64, key: &str, body: &str) -> Result<String, CliError> {
    let host = host.trim_end_matches('/');
    if !(host.starts_with("https://") || host.starts_with("http://")) {
        return Err(CliError::Run(format!("--host must be an http:// or https:// URL, not `{host}`")));
    }
    let url = format!("{host}/api/projects/{project}/dashboards/create_from_template_json/");
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .user_agent(concat!("tally/", env!("CARGO_PKG_VERSION")))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let mut response = agent
        .post(&url)
        .header("Authorization", format!("Bearer {key}"))
        .header("Content-Type", "application/json")
        .send(body)
        .map_err(|error| CliError::Run(format!("cannot reach PostHog at {url}: {error}")))?;
    let status = response.status();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let json: Option<Value> = serde_json::from_str(&text).ok();
    if !status.is_success() {
        let detail = json
            .as_ref()
            .and_then(|json| json.get("detail").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| text.chars().take(500).collect());
        let hint = match status.as_u16() {
            401 | 403 => " (check the personal API key and its dashboard:write scope)",
            404 => " (check --host and --project-id)",
            _ => "",
        };
        return Err(CliError::Invalid(format!(
            "error: PostHog answered {status} to POST {url}{hint}: {}",
            detail.trim()
        )));
    }
    let id = json.as_ref().and_then(|json| json.get("id")).map(|id| id.to_string());
    let name = json.as_ref().and_then(|json| json.get("name")).and_then(Value::as_str).map(str::to_owned);
    Ok(match id {
        Some(id) => format!(
            "created dashboard {id}{}: {host}/project/{project}/dashboard/{id}",
            name.map(|n| format!(" \"{n}\"")).unwrap_or_default()
        ),
        None => format!("PostHog answered {status}; the response carries no dashboard id"),
    })
}
