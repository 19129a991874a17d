//! The OpenAPI 3.1 document, generated from the routes the server mounts.
//!
//! Each contract module describes its routes next to their handlers
//! ([`crate::routes::Route::doc`]): an [`Op`] names the request type and,
//! per status, the response type, whose JSON schemas come from the types
//! themselves (`utoipa::ToSchema`), with the seed documents' examples.
//! [`document`] joins the operations of a [`RoutePlan`] (under each
//! contract's prefix, without disabled contracts), so the document describes
//! exactly what this server serves. It is served at `GET /openapi.json`,
//! browsable at `GET /docs` (Swagger UI, assets embedded in the binary),
//! printed by `auth-server openapi`, and kept in `docs/openapi.json` (a test
//! fails when that copy is stale).

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::routes::{Access, Method, Route, RoutePlan};

/// One operation's description, built next to its handler.
#[derive(Debug, Clone, Default)]
pub struct Op {
    op: Map<String, Value>,
    responses: Map<String, Value>,
    components: Map<String, Value>,
}

/// `#/components/schemas/NAME` for `T`, registering `T` and the types it
/// refers to in `components`.
fn schema_ref<T: ToSchema>(components: &mut Map<String, Value>) -> Value {
    let mut nested = Vec::new();
    T::schemas(&mut nested);
    for (name, schema) in nested {
        components.insert(name, serde_json::to_value(schema).unwrap_or(Value::Null));
    }
    let name = T::name().into_owned();
    components.insert(
        name.clone(),
        serde_json::to_value(T::schema()).unwrap_or(Value::Null),
    );
    json!({"$ref": format!("#/components/schemas/{name}")})
}

impl Op {
    /// An operation of contract `tag`, with a stable `id` and a summary.
    pub fn new(tag: &str, id: &str, summary: &str) -> Self {
        let mut op = Map::new();
        op.insert("tags".into(), json!([tag]));
        op.insert("operationId".into(), json!(id));
        op.insert("summary".into(), json!(summary));
        Self {
            op,
            responses: Map::new(),
            components: Map::new(),
        }
    }

    /// A longer description (Markdown).
    #[must_use]
    pub fn describe(mut self, text: &str) -> Self {
        self.op.insert("description".into(), json!(text));
        self
    }

    /// A JSON request body of type `T`, with an example.
    #[must_use]
    pub fn body<T: ToSchema>(mut self, example: Value) -> Self {
        let schema = schema_ref::<T>(&mut self.components);
        self.op.insert(
            "requestBody".into(),
            json!({"required": false, "content": {"application/json": {"schema": schema, "example": example}}}),
        );
        self
    }

    /// A request body that is not JSON (`content_type`, e.g.
    /// `application/x-ndjson`), described in words, with an example.
    #[must_use]
    pub fn raw_body(mut self, content_type: &str, description: &str, example: &str) -> Self {
        self.op.insert(
            "requestBody".into(),
            json!({"required": true, "description": description,
                   "content": {content_type: {"schema": {"type": "string"}, "example": example}}}),
        );
        self
    }

    /// A path parameter.
    #[must_use]
    pub fn path_param(mut self, name: &str, description: &str, example: &str) -> Self {
        self.param(json!({
            "name": name, "in": "path", "required": true, "description": description,
            "schema": {"type": "string"}, "example": example,
        }));
        self
    }

    /// A query parameter.
    #[must_use]
    pub fn query_param(mut self, name: &str, description: &str, schema: Value) -> Self {
        self.param(json!({
            "name": name, "in": "query", "required": false, "description": description, "schema": schema,
        }));
        self
    }

    /// A request header.
    #[must_use]
    pub fn header_param(mut self, name: &str, description: &str, required: bool) -> Self {
        self.param(json!({
            "name": name, "in": "header", "required": required, "description": description,
            "schema": {"type": "string"},
        }));
        self
    }

    fn param(&mut self, param: Value) {
        if let Some(Value::Array(params)) = self.op.get_mut("parameters") {
            params.push(param);
        } else {
            self.op.insert("parameters".into(), json!([param]));
        }
    }

    /// Authenticated with a bearer token of `scheme` (`accessToken` or
    /// `adminToken`, see [`document`]).
    #[must_use]
    pub fn bearer(mut self, scheme: &str) -> Self {
        self.op.insert("security".into(), json!([{ scheme: [] }]));
        self
    }

    /// Authenticated by any one of `schemes` (see [`document`]).
    #[must_use]
    pub fn security_any(mut self, schemes: &[&str]) -> Self {
        let alternatives: Vec<Value> = schemes.iter().map(|s| json!({ *s: [] })).collect();
        self.op.insert("security".into(), Value::Array(alternatives));
        self
    }

    /// A JSON response of type `T` for `status`, with an example. Several
    /// types for one status are offered as `oneOf`.
    #[must_use]
    pub fn reply<T: ToSchema>(mut self, status: u16, description: &str, example: Value) -> Self {
        let schema = schema_ref::<T>(&mut self.components);
        self.response(status, description, Some((schema, example)));
        self
    }

    /// A response without a body.
    #[must_use]
    pub fn empty(mut self, status: u16, description: &str) -> Self {
        self.response(status, description, None);
        self
    }

    /// A response with a raw schema (no Rust type behind it).
    #[must_use]
    pub fn raw(mut self, status: u16, description: &str, content_type: &str, schema: Value) -> Self {
        let responses = self.responses();
        responses.insert(
            status.to_string(),
            json!({"description": description, "content": {content_type: {"schema": schema}}}),
        );
        self
    }

    /// A `Retry-After` header on `status` (429 answers).
    #[must_use]
    pub fn retry_after(mut self, status: u16) -> Self {
        if let Some(Value::Object(r)) = self.responses().get_mut(&status.to_string()) {
            r.insert(
                "headers".into(),
                json!({"Retry-After": {"description": "Seconds until a new attempt is accepted.", "schema": {"type": "integer", "minimum": 1}}}),
            );
        }
        self
    }

    fn responses(&mut self) -> &mut Map<String, Value> {
        &mut self.responses
    }

    fn response(&mut self, status: u16, description: &str, body: Option<(Value, Value)>) {
        let key = status.to_string();
        let responses = self.responses();
        let Some((schema, example)) = body else {
            match responses.get_mut(&key) {
                // A status one alternative answers with a body and the other
                // without (the shared logout): say that no body is fine too.
                Some(Value::Object(existing)) => {
                    existing.insert("x-empty-body".into(), json!(true));
                }
                _ => {
                    responses.insert(key, json!({"description": description}));
                }
            }
            return;
        };
        match responses.get_mut(&key) {
            Some(Value::Object(existing)) => {
                let so_far = existing.get("description").and_then(Value::as_str).unwrap_or("");
                if !so_far.contains(description) {
                    let joined = format!("{so_far}; {description}");
                    existing.insert("description".into(), json!(joined));
                }
                if !existing.contains_key("content") {
                    existing.insert("x-empty-body".into(), json!(true));
                }
                let content = existing.entry("content").or_insert_with(|| json!({}));
                let Some(content) = content.as_object_mut() else {
                    return;
                };
                let media = content.entry("application/json").or_insert_with(|| json!({}));
                let Some(media) = media.as_object_mut() else {
                    return;
                };
                let merged = match media.get("schema").cloned() {
                    Some(Value::Object(s)) if s.contains_key("oneOf") => {
                        let mut all = s["oneOf"].as_array().cloned().unwrap_or_default();
                        if !all.contains(&schema) {
                            all.push(schema);
                        }
                        json!({"oneOf": all})
                    }
                    Some(other) if other != schema => json!({"oneOf": [other, schema]}),
                    Some(same) => same,
                    None => schema,
                };
                media.insert("schema".into(), merged);
                let mut examples = match media.remove("examples") {
                    Some(Value::Object(e)) => e,
                    _ => Map::new(),
                };
                if let Some(old) = media.remove("example") {
                    examples.insert(format!("example{}", examples.len() + 1), json!({"value": old}));
                }
                examples.insert(
                    format!("example{}", examples.len() + 1),
                    json!({"value": example}),
                );
                media.insert("examples".into(), Value::Object(examples));
            }
            _ => {
                responses.insert(
                    key,
                    json!({"description": description, "content": {"application/json": {"schema": schema, "example": example}}}),
                );
            }
        }
    }

    /// Two operations on one method and path (the documented `picsel` /
    /// `standard` collision): the request bodies and each status's bodies
    /// become `oneOf` alternatives.
    #[must_use]
    pub fn merge(mut self, other: &Op, id: &str, summary: &str) -> Self {
        self.components
            .extend(other.components.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.op.insert("operationId".into(), json!(id));
        self.op.insert("summary".into(), json!(summary));
        let mut tags: Vec<Value> = self.op["tags"].as_array().cloned().unwrap_or_default();
        tags.extend(other.op["tags"].as_array().cloned().unwrap_or_default());
        self.op.insert("tags".into(), Value::Array(tags));
        let description = [&self.op, &other.op]
            .iter()
            .filter_map(|o| o.get("description").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n\n");
        self.op.insert("description".into(), json!(description));
        if let (Some(mine), Some(theirs)) = (self.op.get("requestBody").cloned(), other.op.get("requestBody"))
        {
            let a = &mine["content"]["application/json"];
            let b = &theirs["content"]["application/json"];
            self.op.insert(
                "requestBody".into(),
                json!({"required": false, "content": {"application/json": {
                    "schema": {"oneOf": [a["schema"], b["schema"]]},
                    "examples": {"first": {"value": a["example"]}, "second": {"value": b["example"]}},
                }}}),
            );
        } else if let Some(theirs) = other.op.get("requestBody") {
            self.op.insert("requestBody".into(), theirs.clone());
        }
        if let Some(Value::Array(params)) = other.op.get("parameters") {
            for p in params {
                self.param(p.clone());
            }
        }
        {
            for (status, response) in &other.responses {
                let code: u16 = status.parse().unwrap_or(500);
                let description = response["description"].as_str().unwrap_or("");
                match response["content"]["application/json"].as_object() {
                    Some(content) => {
                        let schema = content.get("schema").cloned().unwrap_or(Value::Null);
                        let example = content.get("example").cloned().unwrap_or(Value::Null);
                        self.response(code, description, Some((schema, example)));
                    }
                    None => self.response(code, description, None),
                }
                if let Some(headers) = response.get("headers")
                    && let Some(Value::Object(r)) = self.responses().get_mut(status)
                {
                    r.insert("headers".into(), headers.clone());
                }
            }
        }
        if let Some(security) = other.op.get("security") {
            let mut all = self.op.get("security").cloned().unwrap_or(json!([]));
            if let Some(list) = all.as_array_mut() {
                list.extend(security.as_array().cloned().unwrap_or_default());
                list.push(json!({}));
            }
            self.op.insert("security".into(), all);
        }
        self
    }

    /// The operation id.
    pub fn id(&self) -> &str {
        self.op.get("operationId").and_then(Value::as_str).unwrap_or("")
    }

    /// The status codes this operation documents.
    pub fn statuses(&self) -> Vec<u16> {
        self.responses.keys().filter_map(|k| k.parse().ok()).collect()
    }

    /// The operation object of the document.
    fn to_value(&self) -> Value {
        let mut op = self.op.clone();
        op.insert("responses".into(), Value::Object(self.responses.clone()));
        Value::Object(op)
    }
}

/// The document of everything `plan` mounts.
pub fn document(plan: &RoutePlan, version: &str) -> Value {
    let mut paths = Map::new();
    let mut components = Map::new();
    for (method, path, op) in plan.operations() {
        components.extend(op.components.clone());
        let item = paths.entry(openapi_path(&path)).or_insert_with(|| json!({}));
        item[method.as_openapi()] = op.to_value();
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "auth-service",
            "version": version,
            "description": "One identity system serving five existing auth API contracts at once \
                (`standard`, `session`, `picsel`, `account`, `chat`), plus the token lookup for \
                other services, the health probes and the internal admin API. Each contract answers \
                in its own envelope; see each operation's responses.",
        },
        "tags": [
            {"name": "standard", "description": "Username login, rotating reissue, logout (seed 004)."},
            {"name": "session", "description": "`/api/login`, `/api/token/refresh` (seed 001)."},
            {"name": "picsel", "description": "Email and social login, refresh, logout; common error envelope (seed 002)."},
            {"name": "account", "description": "Sign-up with emailed codes, sign-in, withdrawal, password reset (seed 003)."},
            {"name": "chat", "description": "Chat-app login keyed by `App-Id` (seed 000)."},
            {"name": "service", "description": "For other services and operators: token lookup, probes, this document."},
            {"name": "internal", "description": "The admin API (bearer `AUTH_ADMIN_TOKEN`)."},
        ],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "accessToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "An access token from any contract's login."},
                "adminToken": {"type": "http", "scheme": "bearer",
                    "description": "`AUTH_ADMIN_TOKEN`."},
                "appClient": {"type": "http", "scheme": "basic",
                    "description": "A registered application's `appId` and `secret` (`POST /internal/apps`)."},
            },
        },
    })
}

/// actix's `{name:regex}` segments as OpenAPI's `{name}`.
fn openapi_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_param = false;
    let mut skipping = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push(c);
            }
            ':' if in_param => skipping = true,
            '}' if in_param => {
                in_param = false;
                skipping = false;
                out.push(c);
            }
            _ if skipping => {}
            _ => out.push(c),
        }
    }
    out
}

/// The routes of the API description itself.
pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: Method::Get,
            path: "/openapi.json",
            id: "service.openapi",
            to: || web::get().to(openapi_json),
            rate_limit: None,
            access: Access::Public,
            doc: || {
                Op::new("service", "service.openapi", "This document (OpenAPI 3.1)").raw(
                    200,
                    "The document.",
                    "application/json",
                    json!({"type": "object"}),
                )
            },
        },
        Route {
            method: Method::Get,
            path: "/docs",
            id: "service.docs",
            to: || web::get().to(docs_redirect),
            rate_limit: None,
            access: Access::Public,
            doc: || {
                Op::new(
                    "service",
                    "service.docs",
                    "The browsable reference (redirects to `/docs/`)",
                )
                .empty(302, "To `/docs/`.")
            },
        },
        Route {
            method: Method::Get,
            path: "/docs/{file:.*}",
            id: "service.docs.assets",
            to: || web::get().to(docs),
            rate_limit: None,
            access: Access::Public,
            doc: || {
                Op::new(
                    "service",
                    "service.docs.assets",
                    "The browsable reference (Swagger UI, embedded)",
                )
                .path_param(
                    "file",
                    "An asset of the page; empty for the page itself.",
                    "index.html",
                )
                .raw(
                    200,
                    "The page or one of its assets.",
                    "text/html",
                    json!({"type": "string"}),
                )
                .empty(404, "No such asset.")
            },
        },
    ]
}

/// The served document (built once at start-up).
#[derive(Debug, Clone)]
pub struct Served(pub Arc<Value>);

/// `GET /openapi.json`.
pub async fn openapi_json(doc: web::Data<Served>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(doc.0.as_ref())
}

/// `GET /docs`: to `/docs/`, so the page's relative asset links resolve.
pub async fn docs_redirect() -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}

/// `GET /docs/{file}`: Swagger UI, from assets embedded in the binary,
/// reading `/openapi.json`. Its own CSP lets the page run its scripts and
/// styles (from this origin only).
pub async fn docs(req: HttpRequest) -> HttpResponse {
    let file = req.match_info().get("file").unwrap_or("");
    let config = Arc::new(utoipa_swagger_ui::Config::new(["/openapi.json"]));
    match utoipa_swagger_ui::serve(file, config) {
        Ok(Some(found)) => {
            let mut response = HttpResponse::Ok();
            if found.gzpipped {
                response.insert_header((header::CONTENT_ENCODING, "gzip"));
            }
            response
                .content_type(found.content_type)
                .insert_header((
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                     script-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
                ))
                .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
                .body(found.bytes.to_vec())
        }
        Ok(None) => HttpResponse::NotFound().finish(),
        Err(e) => {
            tracing::error!(error = %e, "swagger ui asset");
            HttpResponse::NotFound().finish()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/openapi.json` is the document of the default configuration;
    /// regenerate it with `cargo run --bin auth-server -- openapi >
    /// docs/openapi.json` after changing a route.
    #[test]
    fn the_committed_document_is_current() {
        let plan = RoutePlan::build(&crate::settings::ContractsSettings::default()).unwrap_or_default();
        let current = document(&plan, env!("CARGO_PKG_VERSION"));
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
        let committed: Value = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or(Value::Null);
        assert!(
            committed == current,
            "docs/openapi.json is stale: run `cargo run --bin auth-server -- openapi > docs/openapi.json`"
        );
    }

    #[test]
    fn the_document_lists_exactly_the_mounted_routes() {
        let mut prefixed = crate::settings::ContractsSettings::default();
        prefixed.picsel.prefix = "/picsel".into();
        prefixed.chat.enabled = false;
        for settings in [crate::settings::ContractsSettings::default(), prefixed] {
            let plan = RoutePlan::build(&settings).unwrap_or_default();
            let doc = document(&plan, "test");
            let mut documented: Vec<(String, String)> = doc["paths"]
                .as_object()
                .into_iter()
                .flatten()
                .flat_map(|(path, item)| {
                    item.as_object()
                        .into_iter()
                        .flatten()
                        .map(move |(method, _)| (method.clone(), path.clone()))
                })
                .collect();
            let mut mounted: Vec<(String, String)> = plan
                .operations()
                .into_iter()
                .map(|(method, path, _)| (method.as_openapi().to_owned(), openapi_path(&path)))
                .collect();
            documented.sort();
            mounted.sort();
            assert_eq!(documented, mounted);
            let disabled = settings.chat.enabled.then_some(()).is_none();
            assert_eq!(doc["paths"].get("/auth/login").is_none(), disabled);
        }
    }

    #[test]
    fn actix_patterns_become_openapi_templates() {
        assert_eq!(openapi_path("/docs/{file:.*}"), "/docs/{file}");
        assert_eq!(openapi_path("/api/auth/{provider}"), "/api/auth/{provider}");
    }
}
