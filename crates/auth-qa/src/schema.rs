//! Every response the suite receives is checked against the service's own
//! OpenAPI document (`GET /openapi.json`): the route must be in it, the
//! status must be one the route documents, and a JSON body must validate
//! against that status's schema. So the document cannot drift from what
//! the service answers, and a scenario that provokes an undocumented answer
//! fails.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Value, json};

/// One documented response.
#[derive(Debug)]
struct Documented {
    /// The body's validator, when the response has a JSON body.
    json: Option<jsonschema::Validator>,
    /// The content types the response documents (none: an empty body).
    content_types: Vec<String>,
    /// `x-empty-body`: an empty body is documented as fine too.
    empty_allowed: bool,
}

/// One operation: its path template and its responses by status.
#[derive(Debug)]
struct Operation {
    method: String,
    segments: Vec<String>,
    responses: HashMap<u16, Documented>,
}

/// A compiled document.
#[derive(Debug)]
pub struct Contract {
    operations: Vec<Operation>,
}

fn matches(template: &[String], path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    for (i, t) in template.iter().enumerate() {
        if t == "{file}" {
            // `/docs/{file:.*}`: the rest of the path.
            return parts.len() > i;
        }
        match parts.get(i) {
            Some(p) if t.starts_with('{') && t.ends_with('}') => {
                if p.is_empty() {
                    return false;
                }
            }
            Some(p) if p == t => {}
            _ => return false,
        }
    }
    parts.len() == template.len()
}

impl Contract {
    /// Compiles `doc` (cached: every in-process server of one configuration
    /// serves the same document).
    ///
    /// # Panics
    /// When a schema of the document does not compile.
    pub fn compile(doc: &Value) -> Arc<Self> {
        static CACHE: OnceLock<Mutex<HashMap<String, Arc<Contract>>>> = OnceLock::new();
        let key = doc.to_string();
        let cache = CACHE.get_or_init(Mutex::default);
        if let Some(found) = cache.lock().unwrap().get(&key) {
            return found.clone();
        }
        let components = doc["components"].clone();
        let mut operations = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("path item") {
                let mut responses = HashMap::new();
                for (status, response) in op["responses"].as_object().expect("responses") {
                    let content = response["content"].as_object();
                    let content_types = content.map(|c| c.keys().cloned().collect()).unwrap_or_default();
                    let json = content
                        .and_then(|c| c.get("application/json"))
                        .and_then(|m| m.get("schema"))
                        .map(|schema| {
                            let mut root = schema.clone();
                            if let Value::Object(o) = &mut root {
                                o.insert("components".into(), components.clone());
                                o.insert(
                                    "$schema".into(),
                                    json!("https://json-schema.org/draft/2020-12/schema"),
                                );
                            }
                            jsonschema::validator_for(&root).unwrap_or_else(|e| {
                                panic!("the schema of {method} {path} {status} does not compile: {e}")
                            })
                        });
                    responses.insert(
                        status.parse().expect("numeric status"),
                        Documented {
                            json,
                            content_types,
                            empty_allowed: response["x-empty-body"] == json!(true),
                        },
                    );
                }
                operations.push(Operation {
                    method: method.to_uppercase(),
                    segments: path.split('/').map(str::to_owned).collect(),
                    responses,
                });
            }
        }
        let compiled = Arc::new(Self { operations });
        cache.lock().unwrap().insert(key, compiled.clone());
        compiled
    }

    /// Checks one response against the document.
    ///
    /// # Panics
    /// With what is wrong: an undocumented route or status, or a body that
    /// does not match the documented schema.
    pub fn check(&self, method: &str, path: &str, status: u16, content_type: Option<&str>, text: &str) {
        let path = path.split('?').next().unwrap_or(path);
        // The most specific template wins (`/api/auth/me` over
        // `/api/auth/{provider}`), as in the server's routing.
        let literal = |o: &Operation| o.segments.iter().filter(|s| !s.starts_with('{')).count();
        let Some(op) = self
            .operations
            .iter()
            .filter(|o| o.method == method && matches(&o.segments, path))
            .max_by_key(|o| literal(o))
        else {
            // Not a route of the service (a scenario probing 404/405).
            assert!(
                matches!(status, 404 | 405),
                "{method} {path} answered {status} but is not in the OpenAPI document"
            );
            return;
        };
        let documented = op.responses.get(&status).unwrap_or_else(|| {
            let mut known: Vec<&u16> = op.responses.keys().collect();
            known.sort();
            panic!("{method} {path} answered {status}, not documented (documented: {known:?}); body: {text}")
        });
        if text.is_empty() && (documented.empty_allowed || documented.content_types.is_empty()) {
            return;
        }
        let is_json = content_type.is_some_and(|c| c.starts_with("application/json"));
        match (&documented.json, is_json) {
            (Some(validator), true) => {
                let body: Value = serde_json::from_str(text)
                    .unwrap_or_else(|e| panic!("{method} {path} {status}: body is not JSON ({e}): {text}"));
                let errors: Vec<String> = validator.iter_errors(&body).map(|e| e.to_string()).collect();
                assert!(
                    errors.is_empty(),
                    "{method} {path} {status}: the body does not match the OpenAPI document: {errors:?}\nbody: {text}"
                );
            }
            (Some(_), false) => {
                panic!("{method} {path} {status}: documented as JSON, answered {content_type:?}: {text}")
            }
            (None, true) if !documented.content_types.is_empty() => {}
            (None, true) => {
                panic!("{method} {path} {status}: documented without a body, answered JSON: {text}")
            }
            (None, false) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_one_segment_per_parameter() {
        let t = |s: &str| s.split('/').map(str::to_owned).collect::<Vec<_>>();
        assert!(matches(&t("/api/auth/{provider}"), "/api/auth/google"));
        assert!(!matches(&t("/api/auth/{provider}"), "/api/auth/google/login"));
        assert!(!matches(&t("/api/auth/{provider}"), "/api/auth/"));
        assert!(matches(&t("/docs/{file}"), "/docs/"));
        assert!(matches(&t("/docs/{file}"), "/docs/swagger-ui.css"));
        assert!(matches(&t("/api/login"), "/api/login"));
    }
}
