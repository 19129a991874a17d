//! A property-based run over the OpenAPI document: every operation the
//! service documents gets generated requests — bodies built from its schema
//! with fields omitted, nulled, of the wrong type, huge, or full of control
//! characters and non-ASCII text; odd path and query parameters; garbage
//! `Authorization` and `App-Id` headers; bodies that are not JSON at all.
//! Every answer must be below 500 and described by the document (the
//! harness checks each reply against it). Bounded in requests and time; the
//! seed is printed, and `AUTH_FUZZ_SEED` replays a run.

use std::time::{Duration, Instant};

use crate::{Target, TestApp};
use serde_json::{Map, Value, json};

crate::scenarios!(every_documented_operation_survives_generated_requests);

/// Requests per operation.
const PER_OPERATION: usize = 60;
/// The whole run stops after this long, whatever is left.
const BUDGET: Duration = Duration::from_secs(40);

/// xorshift64*: small, seedable, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n as u64)).unwrap()
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Strings that have broken parsers before.
fn nasty_string(rng: &mut Rng) -> String {
    let pool = [
        String::new(),
        " ".into(),
        "\t\n".into(),
        "a".into(),
        "user123".into(),
        "parkh@example.com".into(),
        "SIGN_UP".into(),
        "FORGET_PASSWORD".into(),
        "e09d93".into(),
        "0".into(),
        "-1".into(),
        "99999999999999999999999".into(),
        "null".into(),
        "' OR 1=1 --".into(),
        "../../etc/passwd".into(),
        "%00%2e%2e".into(),
        "\u{0}nul".into(),
        "\u{1b}[31m".into(),
        "홍길동".into(),
        "🦀".repeat(40),
        "a".repeat(300),
        "x".repeat(5000),
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.".into(),
        "<script>alert(1)</script>".into(),
    ];
    rng.pick(&pool).clone()
}

fn any_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 2 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => json!(rng.chance(50)),
        2 => json!(rng.next() as i64),
        3 => json!(-1.5e300),
        4 | 5 => json!(nasty_string(rng)),
        6 => Value::Array((0..rng.below(4)).map(|_| any_value(rng, depth + 1)).collect()),
        _ => {
            let mut m = Map::new();
            for _ in 0..rng.below(3) {
                m.insert(nasty_string(rng), any_value(rng, depth + 1));
            }
            Value::Object(m)
        }
    }
}

/// The schema a `$ref` points to.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap_or_default();
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// A value of roughly the schema's type.
fn plausible(rng: &mut Rng, doc: &Value, schema: &Value) -> Value {
    let schema = resolve(doc, schema);
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if let Some(example) = schema.get("example")
        && rng.chance(40)
    {
        return example.clone();
    }
    match types.iter().find(|t| **t != "null").copied() {
        Some("string") => json!(nasty_string(rng)),
        Some("integer") => json!(rng.below(2000)),
        Some("boolean") => json!(rng.chance(50)),
        Some("array") => {
            let items = &schema["items"];
            Value::Array((0..rng.below(3)).map(|_| plausible(rng, doc, items)).collect())
        }
        _ => any_value(rng, 2),
    }
}

/// A body for an operation: usually an object from its schema, mangled.
fn body(rng: &mut Rng, doc: &Value, op: &Value) -> Vec<u8> {
    match rng.below(12) {
        0 => return Vec::new(),
        1 => return b"{\"unterminated\": ".to_vec(),
        2 => return b"[1,2,3]".to_vec(),
        3 => return vec![0xff, 0xfe, 0x00, 0x7b],
        _ => {}
    }
    let schema = resolve(doc, &op["requestBody"]["content"]["application/json"]["schema"]);
    let mut object = Map::new();
    let alternatives = schema["oneOf"].as_array().cloned().unwrap_or_default();
    let schema = if alternatives.is_empty() {
        schema.clone()
    } else {
        resolve(doc, rng.pick(&alternatives)).clone()
    };
    if let Some(props) = schema["properties"].as_object() {
        for (name, prop) in props {
            let value = match rng.below(10) {
                0 => continue,
                1 => Value::Null,
                2 | 3 => any_value(rng, 0),
                _ => plausible(rng, doc, prop),
            };
            object.insert(name.clone(), value);
        }
    }
    if rng.chance(15) {
        object.insert(nasty_string(rng), any_value(rng, 0));
    }
    serde_json::to_vec(&Value::Object(object)).unwrap()
}

/// A path segment, percent-encoded where it must be.
fn segment(rng: &mut Rng) -> String {
    let raw = match rng.below(4) {
        0 => (*rng.pick(&["google", "kakao", "naver", "me", "github", "x"])).to_owned(),
        _ => nasty_string(rng).chars().take(200).collect(),
    };
    let mut out = String::new();
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() { "x".into() } else { out }
}

fn headers(rng: &mut Rng) -> Vec<(String, String)> {
    let mut out = vec![("content-type".to_owned(), "application/json".to_owned())];
    if rng.chance(50) {
        let value = match rng.below(5) {
            0 => "Bearer ".to_owned(),
            1 => "Bearer eyJhbGciOiJIUzI1NiJ9.e30.xxxx".to_owned(),
            2 => "Basic dXNlcjpwYXNz".to_owned(),
            3 => format!("Bearer {}", "a".repeat(2000)),
            _ => "eyJ.eyJ.sig".to_owned(),
        };
        out.push(("authorization".into(), value));
    }
    if rng.chance(30) {
        let value = if rng.chance(50) {
            "app_0123456789abcdef01234567"
        } else {
            "../x"
        };
        out.push(("app-id".into(), value.into()));
    }
    if rng.chance(20) {
        out[0].1 = (*rng.pick(&["text/plain", "application/x-www-form-urlencoded", ""])).to_owned();
    }
    out
}

async fn every_documented_operation_survives_generated_requests(target: &Target) {
    let app = TestApp::spawn(target).await;
    let doc = app.openapi().await;
    let seed = std::env::var("AUTH_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::random::<u64>() | 1);
    eprintln!("fuzz seed {seed} (replay with AUTH_FUZZ_SEED={seed})");
    let mut rng = Rng(seed);
    let started = Instant::now();
    let mut sent = 0;
    let paths = doc["paths"].as_object().unwrap().clone();
    for (template, item) in &paths {
        for (method, op) in item.as_object().unwrap() {
            for _ in 0..PER_OPERATION {
                if started.elapsed() > BUDGET {
                    break;
                }
                let path: String = template
                    .split('/')
                    .map(|part| {
                        if part.starts_with('{') {
                            segment(&mut rng)
                        } else {
                            part.to_owned()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("/");
                let query = if rng.chance(30) {
                    format!(
                        "?{}={}&type={}",
                        segment(&mut rng),
                        segment(&mut rng),
                        segment(&mut rng)
                    )
                } else {
                    String::new()
                };
                let payload = if op.get("requestBody").is_some() || rng.chance(20) {
                    body(&mut rng, &doc, op)
                } else {
                    Vec::new()
                };
                let reply = app
                    .request(
                        &method.to_uppercase(),
                        &format!("{path}{query}"),
                        &headers(&mut rng),
                        payload,
                    )
                    .await;
                assert!(
                    reply.status.as_u16() < 500,
                    "{} {path}{query} answered {} (seed {seed}): {}",
                    method.to_uppercase(),
                    reply.status,
                    reply.text
                );
                sent += 1;
            }
        }
    }
    eprintln!(
        "fuzz: {sent} requests over {} paths in {:?}",
        paths.len(),
        started.elapsed()
    );
    assert!(sent >= paths.len(), "the run sent only {sent} requests");
}
