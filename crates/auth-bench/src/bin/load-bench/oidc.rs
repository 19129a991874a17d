//! `--oidc` (issue 28): the OpenID provider's token endpoint at saturation,
//! on each backend, in interleaved rounds:
//! 1. `client_credentials` grants: a confidential client registered through
//!    `POST /internal/oauth-clients`, `8 × cores` keep-alive connections
//!    each POSTing `grant_type=client_credentials` with HTTP Basic, for
//!    `--seconds`;
//! 2. authorization-code exchanges: a first-party client (no consent page),
//!    one user signed in once through the hosted `POST /login`, then
//!    `--codes` codes minted by `GET /oauth2/authorize` with the browser's
//!    single-sign-on cookie (each a 303 carrying the code; that rate is
//!    reported too), then each code exchanged once at `POST /oauth2/token`
//!    (Basic, PKCE S256) over `4 × cores` connections, timed from the first
//!    request to the last answer; once with a client whose ID tokens are
//!    RS256 (the default) and once with one whose ID tokens are ES256, to
//!    show what the RSA signature costs.
//!
//! The order of (1) and (2) alternates between rounds; figures are medians
//! of the rounds. The codes of a round are minted just before its exchanges
//! (they live 60 s).

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::*;
use auth_bench::http::{each_once, post_form_request};

const ADMIN_TOKEN: &str = "load-bench-admin-token-load-bench-admin-token";
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
/// A PKCE verifier (43 to 128 unreserved characters), the same for every
/// code: the server checks it against each code's challenge all the same.
const VERIFIER: &str = "load-bench-pkce-verifier-0123456789-abcdefghij";

/// What one backend gave, round by round.
pub(crate) struct OidcFigures {
    pub(crate) backend: &'static str,
    pub(crate) grants: Vec<f64>,
    /// With RS256 ID tokens (the default).
    pub(crate) exchanges: Vec<f64>,
    /// With ES256 ID tokens.
    pub(crate) exchanges_es: Vec<f64>,
    pub(crate) mints: Vec<f64>,
    pub(crate) codes: usize,
}

fn challenge() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()))
}

/// Registers a client; returns its id and secret.
async fn register(client: &reqwest::Client, base: &str, body: &Value) -> (String, String) {
    let response = client
        .post(format!("{base}/internal/oauth-clients"))
        .bearer_auth(ADMIN_TOKEN)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "register: {answer}");
    (
        answer["clientId"].as_str().unwrap().to_owned(),
        answer["clientSecret"].as_str().unwrap().to_owned(),
    )
}

/// The query string of an authorization request of `client_id`.
fn authorize_query(client_id: &str) -> String {
    let url = reqwest::Url::parse_with_params(
        "http://127.0.0.1/oauth2/authorize",
        &[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid profile email"),
            ("state", "bench"),
            ("nonce", "bench"),
            ("code_challenge", &challenge()),
            ("code_challenge_method", "S256"),
        ],
    )
    .unwrap();
    url.query().unwrap().to_owned()
}

/// The value of cookie `name` among `response`'s `Set-Cookie` headers.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';')
                .next()?
                .strip_prefix(&format!("{name}="))
                .map(str::to_owned)
        })
}

/// Signs `user` in on the hosted page as a browser does (the form's CSRF
/// token from the page's cookie); returns the single-sign-on cookie.
async fn sign_in(base: &str, query: &str, user: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client.get(format!("{base}/login?{query}")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200, "login page");
    let csrf = set_cookie(&page, "auth_csrf").expect("the login page sets auth_csrf");
    let answer = client
        .post(format!("{base}/login"))
        .header(reqwest::header::COOKIE, format!("auth_csrf={csrf}"))
        .form(&[
            ("username", user),
            ("password", PASSWORD),
            ("csrf", &csrf),
            ("request", query),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 303, "hosted sign-in");
    set_cookie(&answer, "auth_sso").expect("the sign-in sets auth_sso")
}

/// `n` codes from `GET /oauth2/authorize` with the SSO cookie; returns the
/// codes and the rate they were minted at.
async fn mint(addr: SocketAddr, query: &str, sso: &str, n: usize) -> (Vec<String>, f64) {
    let request = format!(
        "GET /oauth2/authorize?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: auth_sso={sso}\r\n\r\n"
    )
    .into_bytes();
    let (rate, locations) = each_once(addr, vec![request; n], 4 * cores(), 303).await;
    let codes: Vec<String> = locations
        .iter()
        .map(|l| {
            let url = reqwest::Url::parse(l).unwrap();
            url.query_pairs()
                .find(|(k, _)| k == "code")
                .unwrap_or_else(|| panic!("no code in {l}"))
                .1
                .into_owned()
        })
        .collect();
    assert_eq!(codes.len(), n);
    (codes, rate)
}

/// Exchanges each code once; returns exchanges per second.
async fn exchange(addr: SocketAddr, client: &(String, String), codes: &[String]) -> f64 {
    let redirect: String = reqwest::Url::parse_with_params("http://x/", &[("r", REDIRECT_URI)])
        .unwrap()
        .query()
        .unwrap()
        .trim_start_matches("r=")
        .to_owned();
    let requests = codes
        .iter()
        .map(|code| {
            post_form_request(
                "/oauth2/token",
                Some((&client.0, &client.1)),
                &format!(
                    "grant_type=authorization_code&code={code}&redirect_uri={redirect}&code_verifier={VERIFIER}"
                ),
            )
        })
        .collect();
    each_once(addr, requests, 4 * cores(), 200).await.0
}

pub(crate) async fn measure_oidc(params: &Params, backend: TestBackend, codes: usize) -> OidcFigures {
    let name = match backend {
        TestBackend::Sqlite => "SQLite",
        TestBackend::Postgres => "PostgreSQL",
    };
    let db = TestDatabase::new(backend);
    let mail = mail_dir();
    let extra = [("AUTH_ADMIN_TOKEN".to_owned(), ADMIN_TOKEN.to_owned())];
    let server = start_with(params, db.url(), &mail, &extra).await;
    let base = server.base.clone();
    let addr: SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let client = reqwest::Client::new();
    let users = seed_users(&client, &base).await;

    let service = register(
        &client,
        &base,
        &json!({"name": "bench service", "grantTypes": ["client_credentials"], "scopes": ["api.read", "api.write"]}),
    )
    .await;
    let app = register(
        &client,
        &base,
        &json!({"name": "bench app", "redirectUris": [REDIRECT_URI], "firstParty": true}),
    )
    .await;
    let app_es = register(
        &client,
        &base,
        &json!({"name": "bench app ES256", "redirectUris": [REDIRECT_URI], "firstParty": true,
            "idTokenSignedResponseAlg": "ES256"}),
    )
    .await;
    let query = authorize_query(&app.0);
    let query_es = authorize_query(&app_es.0);
    let sso = sign_in(&base, &query, &users[0]).await;

    let grant_request = post_form_request(
        "/oauth2/token",
        Some((&service.0, &service.1)),
        "grant_type=client_credentials",
    );
    let connections = 8 * cores();
    // Warm-up of both paths.
    hammer(addr, grant_request.clone(), connections, 0.5).await;
    let (warm, _) = mint(addr, &query, &sso, 200).await;
    exchange(addr, &app, &warm).await;
    let (warm, _) = mint(addr, &query_es, &sso, 200).await;
    exchange(addr, &app_es, &warm).await;

    let (mut grants, mut exchanges, mut exchanges_es, mut mints) = (vec![], vec![], vec![], vec![]);
    for round in 0..params.rounds {
        let grants_first = round % 2 == 0;
        if grants_first {
            grants.push(hammer(addr, grant_request.clone(), connections, params.seconds).await);
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        for k in 0..2 {
            let es = (k + round) % 2 == 1;
            let (app, query) = if es { (&app_es, &query_es) } else { (&app, &query) };
            let (minted, rate) = mint(addr, query, &sso, codes).await;
            mints.push(rate);
            let done = exchange(addr, app, &minted).await;
            if es {
                exchanges_es.push(done);
            } else {
                exchanges.push(done);
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        if !grants_first {
            grants.push(hammer(addr, grant_request.clone(), connections, params.seconds).await);
        }
        eprintln!(
            "[{name}] round {round}: client_credentials {:.0}/s, code exchanges {:.0}/s (RS256 ID tokens), \
             {:.0}/s (ES256); codes minted at {:.0}/s",
            grants[round],
            exchanges[round],
            exchanges_es[round],
            mints[2 * round]
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&mail);
    OidcFigures {
        backend: name,
        grants,
        exchanges,
        exchanges_es,
        mints,
        codes,
    }
}

/// The Markdown section of `--oidc`.
pub(crate) fn oidc_report(params: &Params, figures: &mut [OidcFigures]) -> String {
    const GRANTS_AIM: f64 = 4800.0;
    const EXCHANGES_AIM: f64 = 1000.0;
    let mut body = format!(
        "Measured {date} on {machine}, release build, loopback (`load-bench --oidc --seconds {s} --rounds {r} --codes {c}`): \
         medians of {r} rounds, the measurements taking turns within each round (order alternating between rounds); access tokens ES256 \
         (`AUTH_JWT_ALGORITHM=ES256`), ID tokens RS256 (the client default); server defaults except rate limits, \
         login throttling and the sign-up email gate off; `RUST_LOG=info`.\n\n\
         | figure | {cols} | aim |\n|---|{bars}---|\n",
        date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine = machine(),
        s = params.seconds,
        r = params.rounds,
        c = figures.first().map_or(0, |f| f.codes),
        cols = figures.iter().map(|f| f.backend).collect::<Vec<_>>().join(" | "),
        bars = "---|".repeat(figures.len()),
    );
    let row = |label: &str, values: Vec<String>, aim: &str| {
        format!("| {label} | {} | {aim} |\n", values.join(" | "))
    };
    let judged = |v: f64, aim: f64| {
        if v >= aim {
            format!("**{v:.0}/s** (met)")
        } else {
            format!("**{v:.0}/s** (**not met**: {:.0} % of the aim)", v / aim * 100.0)
        }
    };
    let spread = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(0.0, f64::max);
        format!("{lo:.0}–{hi:.0}/s")
    };
    let g: Vec<String> = figures
        .iter_mut()
        .map(|f| {
            let s = spread(&f.grants);
            format!("{}; rounds {s}", judged(median(&mut f.grants), GRANTS_AIM))
        })
        .collect();
    body.push_str(&row(
        &format!(
            "`client_credentials` grants/s (`POST /oauth2/token`, HTTP Basic, {} connections)",
            8 * cores()
        ),
        g,
        "≥ 4800/s",
    ));
    let e: Vec<String> = figures
        .iter_mut()
        .map(|f| {
            let s = spread(&f.exchanges);
            format!("{}; rounds {s}", judged(median(&mut f.exchanges), EXCHANGES_AIM))
        })
        .collect();
    body.push_str(&row(
        &format!(
            "authorization-code exchanges/s (PKCE S256, HTTP Basic, `openid profile email`: access token, RS256 ID token (the default), refresh token; each code once, {} connections)",
            4 * cores()
        ),
        e,
        "≥ 1000/s",
    ));
    let e: Vec<String> = figures
        .iter_mut()
        .map(|f| {
            let s = spread(&f.exchanges_es);
            format!("{:.0}/s; rounds {s}", median(&mut f.exchanges_es))
        })
        .collect();
    body.push_str(&row(
        "the same with a client registered for ES256 ID tokens (taking turns with the row above)",
        e,
        "diagnosis",
    ));
    let m: Vec<String> = figures
        .iter_mut()
        .map(|f| format!("{:.0}/s", median(&mut f.mints)))
        .collect();
    body.push_str(&row(
        &format!(
            "codes minted by `GET /oauth2/authorize` with the SSO cookie (first-party client: a 303 with the code), {} connections",
            4 * cores()
        ),
        m,
        "",
    ));
    body
}
