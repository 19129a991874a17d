//! Repository rules checked as ordinary tests, the way rust-analyzer keeps
//! its "tidy" rules: each would otherwise drift back in one review at a
//! time. Every rule is a function over file texts, so the tests below also
//! plant a violation and check that it is found.
//!
//! - A handler renders a use case's error through `From` (one place per
//!   contract and error), never an inline `map_err(|e| match e { .. })`.
//! - A handler builds the use case's `Caller` with `AppState::caller`, the
//!   CLI with its one `cli_caller`; nobody else calls `Caller::new`.
//! - The domain's modules import each other without a cycle (areas import
//!   what they use from the module that defines it, never a façade).
//! - No file in `crates/*/src` is over 600 lines, except the few whose
//!   size is one job (listed in `docs/ARCHITECTURE.md`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file under `dir`, with its text, sorted by path.
fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path, text));
            }
        }
    }
    out.sort();
    out
}

/// The lines of `text` that are code (comments dropped), with their
/// numbers (1-based).
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
}

/// Inline error matches in handler code: `map_err(|e| match e`.
fn inline_error_matches(file: &str, text: &str) -> Vec<String> {
    code_lines(text)
        .filter(|(_, l)| {
            let squeezed: String = l.chars().filter(|c| !c.is_whitespace()).collect();
            squeezed.contains("map_err(|") && squeezed.contains("|match")
        })
        .map(|(n, l)| format!("{file}:{n}: {}", l.trim()))
        .collect()
}

/// `Caller::new` / `Caller {` outside the one constructor of each side:
/// `AppState::caller` (state.rs) and the CLI's `cli_caller` (cli/mod.rs).
fn hand_built_callers(file: &str, text: &str) -> Vec<String> {
    let allowed_fn = if file.ends_with("auth-http/src/state.rs") || file == "state.rs" {
        Some("pub fn caller(")
    } else if file.ends_with("cli/mod.rs") || file.ends_with("cli.rs") {
        Some("fn cli_caller(")
    } else {
        None
    };
    let mut inside_allowed = false;
    let mut out = Vec::new();
    for (n, l) in code_lines(text) {
        if let Some(f) = allowed_fn {
            if l.contains(f) {
                inside_allowed = true;
            } else if l.starts_with('}') || l.starts_with("    }") && !l.starts_with("     ") {
                inside_allowed = false;
            }
        }
        let literal = l.contains("Caller {") && !l.contains("->") && !l.contains("struct Caller");
        if (l.contains("Caller::new(") || literal) && !inside_allowed {
            out.push(format!("{file}:{n}: {}", l.trim()));
        }
    }
    out
}

/// The files whose rules above apply: the HTTP and socket layers.
fn handler_sources() -> Vec<(String, String)> {
    let root = root();
    ["crates/auth-http/src", "crates/auth-ws/src"]
        .iter()
        .flat_map(|d| sources(&root.join(d)))
        .map(|(p, t)| {
            let rel = p.strip_prefix(&root).unwrap().display().to_string();
            (rel, t)
        })
        .collect()
}

#[test]
fn handlers_render_errors_through_from() {
    let found: Vec<String> = handler_sources()
        .iter()
        .flat_map(|(f, t)| inline_error_matches(f, t))
        .collect();
    assert!(
        found.is_empty(),
        "inline error matches in handlers; implement `From<UseCaseError>` for the contract's error instead:\n{}",
        found.join("\n")
    );
}

#[test]
fn callers_come_from_the_one_constructor() {
    let found: Vec<String> = handler_sources()
        .iter()
        .flat_map(|(f, t)| hand_built_callers(f, t))
        .collect();
    assert!(
        found.is_empty(),
        "a Caller built by hand; use `state.caller(contract, &req)` (or the CLI's `cli_caller()`):\n{}",
        found.join("\n")
    );
}

#[test]
fn planted_violations_are_found() {
    let planted = "fn h() {\n    x.map_err(|e| match e {\n        A => B,\n    })?;\n}\n";
    assert_eq!(inline_error_matches("a.rs", planted).len(), 1);
    let spread = "x.map_err(|err|\n match err {";
    // Written over two lines it is still one closure, but the rule reads
    // lines: the closure's opening line is what it looks for.
    assert_eq!(inline_error_matches("a.rs", spread).len(), 0);
    assert_eq!(
        inline_error_matches("a.rs", "// map_err(|e| match e { in a comment\n").len(),
        0
    );
    assert_eq!(
        inline_error_matches("a.rs", "x.map_err(AccountError::from)?;\n").len(),
        0
    );

    let by_hand = "async fn h(req: HttpRequest) {\n    let c = auth_domain::Caller::new(\"internal\");\n}\n";
    assert_eq!(
        hand_built_callers("crates/auth-http/src/admin/users.rs", by_hand).len(),
        1
    );
    let literal = "let c = Caller { contract: \"x\", ip: None, user_agent: None };\n";
    assert_eq!(hand_built_callers("crates/auth-http/src/x.rs", literal).len(), 1);
    let constructor =
        "impl AppState {\n    pub fn caller(&self) -> Caller {\n        Caller::new(contract)\n    }\n}\n";
    assert_eq!(
        hand_built_callers("crates/auth-http/src/state.rs", constructor).len(),
        0
    );
    // The same line elsewhere in state.rs is refused.
    let after = format!("{constructor}fn other() {{\n    Caller::new(\"x\");\n}}\n");
    assert_eq!(
        hand_built_callers("crates/auth-http/src/state.rs", &after).len(),
        1
    );
    let cli = "fn cli_caller() -> Caller {\n    Caller::new(\"cli\").with_user_agent(None)\n}\nfn create() {\n    Caller::new(\"cli\");\n}\n";
    assert_eq!(
        hand_built_callers("crates/auth-http/src/cli/mod.rs", cli).len(),
        1
    );
}

/// The module of a source file of a crate's `src`: `identity/user.rs` is
/// `["identity", "user"]`, `identity/mod.rs` `["identity"]`, `lib.rs` `[]`.
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// Whether a module is test code (a `tests` or `*_tests` file, or the
/// `testing` fakes).
fn is_test_module(module: &[String]) -> bool {
    module
        .iter()
        .any(|m| m == "tests" || m.ends_with("_tests") || m == "testing")
}

/// Every path a file names (`use` items expanded, and `crate::…`,
/// `super::…` paths in code), as segments from the crate root.
fn named_paths(module: &[String], text: &str) -> Vec<Vec<String>> {
    // Production code only: the unit tests at the end of a file may import
    // anything.
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    let code: String = code_lines(text).map(|(_, l)| format!("{l}\n")).collect();
    let mut out = Vec::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find("use ") {
        let before = &rest[..i];
        let at_start = before.is_empty() || before.ends_with(['\n', ' ', '(']);
        let body_end = rest[i..].find(';').map_or(rest.len(), |e| i + e);
        if at_start {
            let body: String = rest[i + 4..body_end]
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            expand_use(&[], &body, &mut out);
        }
        rest = &rest[(i + 4).min(rest.len())..];
    }
    for token in code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')) {
        if token.starts_with("crate::") || token.starts_with("super::") {
            out.push(
                token
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            );
        }
    }
    out.into_iter().filter_map(|p| absolute(module, p)).collect()
}

/// `a::{b, c::{d, e}}` as `[a, b]`, `[a, c, d]`, `[a, c, e]`.
fn expand_use(prefix: &[String], body: &str, out: &mut Vec<Vec<String>>) {
    let mut depth = 0;
    let mut start = 0;
    let mut items = Vec::new();
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&body[start..]);
    for item in items.into_iter().filter(|i| !i.is_empty()) {
        let item = item.split(" as ").next().unwrap_or(item);
        match item.find('{') {
            Some(open) => {
                let head: Vec<String> = item[..open]
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                let inner = &item[open + 1..item.len().saturating_sub(1)];
                let mut p = prefix.to_vec();
                p.extend(head);
                expand_use(&p, inner, out);
            }
            None => {
                let mut p = prefix.to_vec();
                p.extend(item.split("::").filter(|s| !s.is_empty()).map(str::to_owned));
                out.push(p);
            }
        }
    }
}

/// A path as segments from the crate root (`None` for other crates').
fn absolute(module: &[String], path: Vec<String>) -> Option<Vec<String>> {
    match path.first().map(String::as_str) {
        Some("crate") => Some(path[1..].to_vec()),
        Some("super") => {
            let mut base = module.to_vec();
            let mut rest = &path[..];
            while rest.first().map(String::as_str) == Some("super") {
                base.pop();
                rest = &rest[1..];
            }
            base.extend(rest.iter().cloned());
            Some(base)
        }
        Some("self") => {
            let mut base = module.to_vec();
            base.extend(path[1..].iter().cloned());
            Some(base)
        }
        _ => None,
    }
}

/// The import graph between a crate's modules: module → the modules whose
/// items it names (a path counts for the longest module prefix it has).
fn import_graph(files: &[(Vec<String>, String)]) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let modules: BTreeSet<Vec<String>> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (module, text) in files.iter().filter(|(m, _)| !is_test_module(m)) {
        let edges = graph.entry(module.clone()).or_default();
        for path in named_paths(module, text) {
            let target = (0..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| modules.contains(p))
                .unwrap_or_default();
            if !target.is_empty() && target != *module && !is_test_module(&target) {
                edges.insert(target);
            }
        }
    }
    graph
}

/// The cycles of `graph` (strongly connected components of two or more).
fn cycles(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<String>> {
    // Kosaraju: finish order on the graph, then components on its reverse.
    fn visit(
        v: &Vec<String>,
        g: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        seen: &mut BTreeSet<Vec<String>>,
        out: &mut Vec<Vec<String>>,
    ) {
        if !seen.insert(v.clone()) {
            return;
        }
        for w in g.get(v).into_iter().flatten() {
            visit(w, g, seen, out);
        }
        out.push(v.clone());
    }
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    for v in graph.keys() {
        visit(v, graph, &mut seen, &mut order);
    }
    let mut reverse: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (v, ws) in graph {
        for w in ws {
            reverse.entry(w.clone()).or_default().insert(v.clone());
        }
    }
    let mut seen = BTreeSet::new();
    let mut found = Vec::new();
    for v in order.iter().rev() {
        let mut component = Vec::new();
        visit(v, &reverse, &mut seen, &mut component);
        if component.len() > 1 {
            found.push(component.iter().map(|m| m.join("::")).collect());
        }
    }
    found
}

fn crate_files(src: &Path) -> Vec<(Vec<String>, String)> {
    sources(src)
        .into_iter()
        .map(|(p, t)| (module_of(p.strip_prefix(src).unwrap()), t))
        .collect()
}

#[test]
fn the_domains_modules_import_without_a_cycle() {
    let files = crate_files(&root().join("crates/auth-domain/src"));
    let graph = import_graph(&files);
    assert!(graph.len() > 20, "the domain's modules were not read: {graph:?}");
    let found = cycles(&graph);
    assert!(
        found.is_empty(),
        "import cycles among the domain's modules (import from the defining module, not a façade):\n{found:?}"
    );
}

#[test]
fn a_planted_cycle_is_found() {
    let m = |s: &str| s.split("::").map(str::to_owned).collect::<Vec<_>>();
    let files = vec![
        (m("a"), "use crate::b::B;\npub struct A;\n".to_owned()),
        (
            m("b"),
            "pub struct B;\nfn f() -> crate::c::C { todo!() }\n".to_owned(),
        ),
        (m("c"), "use super::a::A;\npub struct C;\n".to_owned()),
        (m("d"), "use crate::a::A;\n".to_owned()),
    ];
    let found = cycles(&import_graph(&files));
    assert_eq!(found.len(), 1, "{found:?}");
    let mut cycle = found[0].clone();
    cycle.sort();
    assert_eq!(cycle, ["a", "b", "c"]);
    let acyclic = &files[1..];
    assert!(cycles(&import_graph(acyclic)).is_empty());
}

/// Files allowed over the line limit, because their size is one job
/// (each is named in `docs/ARCHITECTURE.md`): a scenario group of
/// `auth-qa`, which a QA engineer reads as one list, and the unit tests of
/// one use-case file.
const LONG_FILES: &[&str] = &[
    "crates/auth-qa/src/scenarios/abuse.rs",
    "crates/auth-qa/src/scenarios/admin.rs",
    "crates/auth-qa/src/scenarios/chat.rs",
    "crates/auth-qa/src/scenarios/codes.rs",
    "crates/auth-qa/src/scenarios/oidc.rs",
    "crates/auth-qa/src/scenarios/oidc_bad.rs",
    "crates/auth-qa/src/scenarios/robustness.rs",
    "crates/auth-qa/src/scenarios/social.rs",
    "crates/auth-qa/src/scenarios/tokens.rs",
    "crates/auth-domain/src/verification/codes_tests.rs",
];

/// The longest a source file of `crates/*/src` may be.
const MAX_LINES: usize = 600;

#[test]
fn source_files_stay_under_the_line_limit() {
    let root = root();
    let mut long = Vec::new();
    for entry in std::fs::read_dir(root.join("crates")).unwrap() {
        let src = entry.unwrap().path().join("src");
        if !src.is_dir() {
            continue;
        }
        for (path, text) in sources(&src) {
            let rel = path.strip_prefix(&root).unwrap().display().to_string();
            let lines = text.lines().count();
            if lines > MAX_LINES && !LONG_FILES.contains(&rel.as_str()) {
                long.push(format!("{rel}: {lines} lines"));
            }
        }
    }
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines (split them by job, or list them in LONG_FILES and docs/ARCHITECTURE.md with why):\n{}",
        long.join("\n")
    );
}
