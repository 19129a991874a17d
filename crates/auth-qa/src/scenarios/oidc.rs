//! The OpenID provider (issue 28) as an independent relying party sees it:
//! the `openidconnect` crate discovers it from the issuer URL alone,
//! builds the authorization request (PKCE S256, nonce, state), a browser
//! with a cookie jar walks the hosted sign-in and consent pages over real
//! HTTP, and the crate exchanges the code, verifies the ID token from the
//! JWKS, calls userinfo, refreshes and revokes. Then single sign-on,
//! remembered consent, `prompt`, RP-initiated logout, every ID-token
//! algorithm, `client_credentials`, and the admin API of the clients.
//! Bad input is in [`super::oidc_bad`].

use std::collections::BTreeMap;
use std::sync::Mutex;

use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreGenderClaim,
    CoreIdTokenClaims, CoreProviderMetadata, CoreRevocableToken, CoreTokenResponse,
};
use openidconnect::url::Url;
use openidconnect::{
    AccessToken, AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EmptyAdditionalClaims, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, RevocationUrl,
    Scope, TokenResponse, UserInfoClaims,
};
use serde_json::{Value, json};

use crate::target::Exchange;
use crate::{NewUser, Reply, Target, TestApp};

use super::{assert_keys, jwt_claims, now_s};

/// Where the relying party receives codes (never fetched: the browser stops
/// at the redirect).
pub(super) const REDIRECT: &str = "https://rp.example.test/callback";
/// Where it wants the browser back after logout.
pub(super) const AFTER_LOGOUT: &str = "https://rp.example.test/signed-out";

/// The relying party's client, as the crate builds it from discovery.
pub(super) type RpClient =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointSet, EndpointMaybeSet, EndpointMaybeSet>;

/// A provider under test: the app, its discovered metadata, and the HTTP
/// client the crate uses (no redirects followed, as the crate advises).
pub(super) struct Provider {
    pub app: TestApp,
    pub metadata: CoreProviderMetadata,
    pub http: reqwest::Client,
}

/// Discovery from the issuer URL alone; the crate checks the document
/// (issuer, required fields) and fetches the JWKS.
pub(super) async fn provider(target: &Target) -> Provider {
    provider_with(target, |_| {}).await
}

/// As [`provider`], with settings that differ as `configure` says.
pub(super) async fn provider_with(target: &Target, configure: impl FnOnce(&mut crate::Config)) -> Provider {
    let app = TestApp::spawn_issuer(target, configure).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let issuer = IssuerUrl::new(app.base.clone()).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .unwrap_or_else(|e| panic!("discovery from {}: {e:?}", app.base));
    Provider { app, metadata, http }
}

/// A client registered through the admin API.
pub(super) struct Registered {
    pub id: String,
    pub secret: Option<String>,
    pub client: RpClient,
}

/// Registers a client (`overrides` on top of a confidential client with
/// [`REDIRECT`] and [`AFTER_LOGOUT`]) and builds the crate's client for it.
pub(super) async fn register(p: &Provider, overrides: Value) -> Registered {
    let mut body = json!({
        "name": "QA relying party",
        "redirectUris": [REDIRECT],
        "postLogoutRedirectUris": [AFTER_LOGOUT],
    });
    for (k, v) in overrides.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = admin(&p.app, "POST", "/internal/oauth-clients", Some(&body)).await;
    assert_eq!(r.status.as_u16(), 201, "register {body}: {}", r.text);
    let id = r.str("/clientId");
    let secret = r.json["clientSecret"].as_str().map(str::to_owned);
    Registered {
        client: rp_client(p, &id, secret.as_deref()),
        id,
        secret,
    }
}

/// The crate's client for `id` (and `secret`), from the discovered
/// metadata.
pub(super) fn rp_client(p: &Provider, id: &str, secret: Option<&str>) -> RpClient {
    let revocation = format!("{}/oauth2/revoke", p.app.base);
    CoreClient::from_provider_metadata(
        p.metadata.clone(),
        ClientId::new(id.to_owned()),
        secret.map(|s| ClientSecret::new(s.to_owned())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).unwrap())
    .set_revocation_url(RevocationUrl::new(revocation).unwrap())
}

/// An admin API call with the admin token (and a JSON body).
pub(super) async fn admin(app: &TestApp, method: &str, path: &str, body: Option<&Value>) -> Reply {
    let mut headers = vec![(
        "authorization".to_owned(),
        format!("Bearer {}", app.admin_token()),
    )];
    let bytes = match body {
        Some(b) => {
            headers.push(("content-type".to_owned(), "application/json".to_owned()));
            b.to_string().into_bytes()
        }
        None => Vec::new(),
    };
    app.request(method, path, &headers, bytes).await
}

/// The user's live sessions as the admin API lists them.
pub(super) async fn sessions(app: &TestApp, user: &NewUser) -> Value {
    let r = admin(app, "GET", &format!("/internal/users/{}/sessions", user.id), None).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    r.json["sessions"].clone()
}

/// `application/x-www-form-urlencoded` of `pairs`.
pub(super) fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = openidconnect::url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// `POST path` with a form body and optional HTTP Basic credentials,
/// through the app (the reply is checked against the OpenAPI document).
pub(super) async fn post_form(app: &TestApp, path: &str, basic: Option<(&str, &str)>, body: &str) -> Reply {
    let mut headers = vec![(
        "content-type".to_owned(),
        "application/x-www-form-urlencoded".to_owned(),
    )];
    if let Some((id, secret)) = basic {
        use base64::Engine as _;
        let enc = |s: &str| form(&[("v", s)])[2..].to_owned();
        let raw = format!("{}:{}", enc(id), enc(secret));
        headers.push((
            "authorization".to_owned(),
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw)),
        ));
    }
    app.request("POST", path, &headers, body.as_bytes().to_vec())
        .await
}

/// Asserts an RFC 6749 §5.2 error: the status, exactly
/// `{"error", "error_description"}`, `error` as given, `no-store`.
#[track_caller]
pub(super) fn assert_oauth_error(reply: &Reply, status: u16, error: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text);
    assert_keys(&reply.json, &["error", "error_description"]);
    assert_eq!(reply.json["error"], error, "{}", reply.text);
    assert_eq!(reply.headers["cache-control"], "no-store");
    if status == 401 {
        let challenge = reply.headers["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Basic"), "{challenge}");
    }
}

/// The status of `GET /oauth2/userinfo` with `access`.
pub(super) async fn userinfo_status(app: &TestApp, access: &str) -> u16 {
    let headers = [("authorization".to_owned(), format!("Bearer {access}"))];
    let r = app.request("GET", "/oauth2/userinfo", &headers, Vec::new()).await;
    if r.status.as_u16() == 401 {
        assert_eq!(r.json["error"], "invalid_token", "{}", r.text);
    }
    r.status.as_u16()
}

/// Introspection of `token`, authenticated with the client's own
/// credentials (Basic).
pub(super) async fn introspect(app: &TestApp, rp: &Registered, token: &str) -> Value {
    let secret = rp.secret.as_deref().unwrap();
    let r = post_form(
        app,
        "/oauth2/introspect",
        Some((&rp.id, secret)),
        &form(&[("token", token)]),
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    r.json
}

/// What the page answered.
#[derive(Debug)]
pub(super) struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub text: String,
}

/// A browser: keeps cookies, follows nothing by itself.
pub(super) struct Browser {
    http: reqwest::Client,
    base: String,
    target: Target,
    jar: Mutex<BTreeMap<String, String>>,
}

impl Browser {
    /// A fresh browser (no cookies) for `app`.
    pub fn new(app: &TestApp) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: app.base.clone(),
            target: app.target().clone(),
            jar: Mutex::default(),
        }
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else {
            url.to_owned()
        }
    }

    async fn send(&self, label: &str, body: String, request: reqwest::RequestBuilder) -> Page {
        let cookies: Vec<String> = self
            .jar
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let request = if cookies.is_empty() {
            request
        } else {
            request.header("cookie", cookies.join("; "))
        };
        let response = request.send().await.unwrap_or_else(|e| panic!("{label}: {e}"));
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        for set in response.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            let removed = value.is_empty() || attributes.to_ascii_lowercase().contains("max-age=0");
            let mut jar = self.jar.lock().unwrap();
            if removed {
                jar.remove(name.trim());
            } else {
                jar.insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
        let text = response.text().await.unwrap();
        self.target.record(Exchange {
            request: label.to_owned(),
            request_body: body,
            status,
            response_body: format!("{location:?} {}", text.chars().take(600).collect::<String>()),
        });
        Page {
            status,
            location,
            text,
        }
    }

    /// `GET url` (absolute, or a path on the server).
    pub async fn get(&self, url: &str) -> Page {
        let url = self.absolute(url);
        self.send(&format!("GET {url}"), String::new(), self.http.get(&url))
            .await
    }

    /// `POST path` with a form.
    pub async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> Page {
        let url = self.absolute(path);
        let body = form(pairs);
        let request = self
            .http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone());
        self.send(&format!("POST {url}"), body, request).await
    }

    /// Whether the browser holds a single-sign-on cookie.
    pub fn signed_in(&self) -> bool {
        self.jar.lock().unwrap().contains_key("auth_sso")
    }

    /// Walks from `authorize_url` through the hosted pages, signing in as
    /// `user` and allowing consent when asked, until the server sends the
    /// browser to a relying party; that redirect must go to `redirect`.
    pub async fn walk(&self, authorize_url: &str, user: Option<&NewUser>, redirect: &str) -> Landing {
        let mut page = self.get(authorize_url).await;
        let (mut password_asked, mut consent_asked) = (false, false);
        for _ in 0..4 {
            assert_eq!(page.status, 303, "expected a redirect: {page:?}");
            let location = page.location.clone().unwrap();
            if !location.starts_with('/') {
                assert!(
                    location.starts_with(&format!("{redirect}?")),
                    "sent to {location}, not to the registered {redirect}"
                );
                let url = Url::parse(&location).unwrap();
                let query = url.query_pairs().into_owned().collect();
                return Landing {
                    query,
                    password_asked,
                    consent_asked,
                };
            }
            let shown = self.get(&location).await;
            assert_eq!(shown.status, 200, "{location}: {shown:?}");
            let (csrf, request) = (hidden(&shown.text, "csrf"), hidden(&shown.text, "request"));
            page = if location.starts_with("/login?") {
                password_asked = true;
                let user = user.unwrap_or_else(|| panic!("asked to sign in: {location}"));
                self.post(
                    "/login",
                    &[
                        ("username", &user.login),
                        ("password", &user.password),
                        ("csrf", &csrf),
                        ("request", &request),
                    ],
                )
                .await
            } else if location.starts_with("/consent?") {
                consent_asked = true;
                self.post(
                    "/consent",
                    &[("consent", "allow"), ("csrf", &csrf), ("request", &request)],
                )
                .await
            } else {
                panic!("unexpected page {location}")
            };
        }
        panic!("no redirect to the client after four pages")
    }
}

/// The value of the hidden input `name` of an HTML page, unescaped.
pub(super) fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden {name} in {html}"))
        + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end]
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Where a walk ended: the relying party's redirect, and what was asked.
#[derive(Debug)]
pub(super) struct Landing {
    pub query: BTreeMap<String, String>,
    pub password_asked: bool,
    pub consent_asked: bool,
}

impl Landing {
    /// A query parameter of the redirect.
    #[track_caller]
    pub fn param(&self, name: &str) -> &str {
        self.query
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.query))
    }
}

/// An authorization request the crate built.
pub(super) struct Start {
    pub url: String,
    pub state: CsrfToken,
    pub nonce: Nonce,
    pub verifier: String,
}

/// The crate's authorization URL for `rp` (PKCE S256, state, nonce;
/// `openid` plus `scopes`, `prompt` when given).
pub(super) fn start(rp: &RpClient, scopes: &[&str], prompt: Option<CoreAuthPrompt>) -> Start {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for s in scopes {
        request = request.add_scope(Scope::new((*s).to_owned()));
    }
    if let Some(p) = prompt {
        request = request.add_prompt(p);
    }
    let (url, state, nonce) = request.url();
    Start {
        url: url.to_string(),
        state,
        nonce,
        verifier: verifier.secret().clone(),
    }
}

/// Checks a successful landing (state, RFC 9207 `iss`) and returns the code.
#[track_caller]
pub(super) fn code_of(p: &Provider, start: &Start, landing: &Landing) -> String {
    assert_eq!(landing.param("state"), start.state.secret(), "state");
    assert_eq!(landing.param("iss"), p.app.base, "iss (RFC 9207)");
    assert!(!landing.query.contains_key("error"), "{landing:?}");
    landing.param("code").to_owned()
}

/// The crate's code exchange (with the client's authentication method).
pub(super) async fn exchange(p: &Provider, rp: &RpClient, code: &str, verifier: &str) -> CoreTokenResponse {
    rp.exchange_code(AuthorizationCode::new(code.to_owned()))
        .unwrap()
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()))
        .request_async(&p.http)
        .await
        .unwrap_or_else(|e| panic!("code exchange: {e:?}"))
}

/// Sign-in through the pages and the exchange: the tokens and the landing.
pub(super) async fn sign_in(
    p: &Provider,
    rp: &RpClient,
    browser: &Browser,
    user: &NewUser,
    scopes: &[&str],
) -> (CoreTokenResponse, Start, Landing) {
    let start = start(rp, scopes, None);
    let landing = browser.walk(&start.url, Some(user), REDIRECT).await;
    let code = code_of(p, &start, &landing);
    let tokens = exchange(p, rp, &code, &start.verifier).await;
    (tokens, start, landing)
}

/// Verifies the ID token with the crate (signature from the JWKS, issuer,
/// audience, expiry, nonce) and its `at_hash` against the access token.
pub(super) fn verify_id_token(rp: &RpClient, tokens: &CoreTokenResponse, nonce: &Nonce) -> CoreIdTokenClaims {
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = rp.id_token_verifier();
    let claims = id_token
        .claims(&verifier, nonce)
        .unwrap_or_else(|e| panic!("ID token refused by the crate: {e:?}"))
        .clone();
    let alg = id_token.signing_alg().unwrap();
    let key = id_token.signing_key(&verifier).unwrap();
    let expected = AccessTokenHash::from_token(tokens.access_token(), alg, key).unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected), "at_hash");
    claims
}

/// Whether a token request failed with the standard error `expected`.
#[track_caller]
pub(super) fn assert_grant_error<T: std::fmt::Debug, RE: std::error::Error + 'static>(
    result: Result<T, RequestTokenError<RE, openidconnect::StandardErrorResponse<CoreErrorResponseType>>>,
    expected: &CoreErrorResponseType,
) {
    match result {
        Err(RequestTokenError::ServerResponse(e)) => assert_eq!(e.error(), expected, "{e:?}"),
        other => panic!("expected {expected:?}, got {other:?}"),
    }
}

async fn crate_userinfo(
    p: &Provider,
    rp: &RpClient,
    access: &AccessToken,
) -> UserInfoClaims<EmptyAdditionalClaims, CoreGenderClaim> {
    rp.user_info(access.clone(), None)
        .unwrap()
        .request_async(&p.http)
        .await
        .unwrap_or_else(|e| panic!("userinfo through the crate: {e:?}"))
}

/// RFC 7009 revocation of `token`: through the crate over https; the crate
/// refuses a revocation endpoint over plain http (`InsecureUrl`), as
/// in-process servers are, so there the same request goes by hand.
async fn revoke(p: &Provider, rp: &Registered, token: CoreRevocableToken) {
    if p.app.base.starts_with("https://") {
        rp.client
            .revoke_token(token)
            .unwrap()
            .request_async(&p.http)
            .await
            .unwrap_or_else(|e| panic!("revocation: {e:?}"));
        return;
    }
    use openidconnect::RevocableToken as _;
    let (value, hint) = (
        token.secret(),
        token.type_hint().map(|h| h.to_string()).unwrap_or_default(),
    );
    let secret = rp.secret.as_deref().unwrap();
    let body = form(&[("token", value), ("token_type_hint", &hint)]);
    let r = post_form(&p.app, "/oauth2/revoke", Some((&rp.id, secret)), &body).await;
    assert_eq!(r.status.as_u16(), 200, "revocation: {}", r.text);
}

/// The whole code flow with an independent client: discovery, the hosted
/// pages, the exchange, the ID token (signature, nonce, `at_hash`, `sid`,
/// `auth_time`, `amr`, profile and email claims), the access token
/// (RFC 9068, accepted by `auth-client`), userinfo, refresh with rotation
/// and reuse detection.
async fn standard_client_signs_in_and_refreshes(target: &Target) {
    let p = provider(target).await;
    let rp = register(&p, json!({})).await;
    let user = p.app.new_user().await;
    let browser = Browser::new(&p.app);
    let before = now_s();
    let (tokens, start, landing) = sign_in(
        &p,
        &rp.client,
        &browser,
        &user,
        &["profile", "email", "offline_access"],
    )
    .await;
    assert!(landing.password_asked && landing.consent_asked, "{landing:?}");
    assert!(browser.signed_in());

    let claims = verify_id_token(&rp.client, &tokens, &start.nonce);
    assert_eq!(claims.issuer().as_str(), p.app.base);
    assert_eq!(claims.audiences().len(), 1);
    assert_eq!(claims.audiences()[0].as_str(), rp.id);
    assert_eq!(
        claims.authorized_party().map(|a| a.as_str()),
        Some(rp.id.as_str())
    );
    let auth_time = claims.auth_time().expect("auth_time").timestamp();
    assert!(
        (before - 5..=now_s() + 5).contains(&auth_time),
        "auth_time {auth_time}"
    );
    let amr: Vec<String> = claims
        .auth_method_refs()
        .expect("amr")
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(amr, ["pwd"]);
    assert_eq!(claims.email().map(|e| e.as_str()), Some(user.email.as_str()));
    assert_eq!(claims.email_verified(), Some(true));
    assert_eq!(
        claims.preferred_username().map(|u| u.as_str()),
        Some(user.login.as_str())
    );
    assert_eq!(
        claims.name().and_then(|n| n.get(None)).map(|n| n.as_str()),
        Some("홍길동")
    );
    let raw = jwt_claims(&tokens.id_token().unwrap().to_string());
    let sid = raw["sid"].as_str().expect("sid").to_owned();
    let listed = sessions(&p.app, &user).await;
    assert!(
        listed.as_array().unwrap().iter().any(|s| s["id"] == sid.as_str()),
        "sid {sid} is not a session of the user: {listed}"
    );

    // The access token: RFC 9068, and `auth-client` accepts it.
    let access = tokens.access_token().secret().clone();
    let header = jwt_claims(&format!("x.{}", access.split('.').next().unwrap()));
    assert_eq!(header["typ"], "at+jwt", "{header}");
    let auth = auth_client::AuthClient::discover(&p.app.base).await.unwrap();
    let verified = auth
        .verify(&access)
        .await
        .unwrap_or_else(|e| panic!("auth-client refuses the RFC 9068 token: {e}"));
    assert_eq!(verified.sub, claims.subject().as_str());
    assert_eq!(verified.client_id.as_deref(), Some(rp.id.as_str()));
    assert_eq!(verified.sid.as_deref(), Some(sid.as_str()));
    let scope = verified.scope.clone().unwrap();
    for s in ["openid", "profile", "email", "offline_access"] {
        assert!(scope.split(' ').any(|g| g == s), "{s} not in {scope}");
    }
    let live = introspect(&p.app, &rp, &access).await;
    assert_eq!(live["active"], true, "{live}");
    assert_eq!(live["client_id"], rp.id.as_str());
    assert_eq!(live["sid"], sid.as_str());

    // Userinfo through the crate, for the ID token's subject.
    let info = rp
        .client
        .user_info(tokens.access_token().clone(), Some(claims.subject().clone()))
        .unwrap()
        .request_async::<EmptyAdditionalClaims, _, CoreGenderClaim>(&p.http)
        .await
        .unwrap_or_else(|e| panic!("userinfo: {e:?}"));
    assert_eq!(info.email().map(|e| e.as_str()), Some(user.email.as_str()));
    assert_eq!(
        info.preferred_username().map(|u| u.as_str()),
        Some(user.login.as_str())
    );

    // Refresh through the crate: a new refresh token; the old one reused is
    // invalid_grant and ends the grant.
    let first = tokens.refresh_token().expect("a refresh token").clone();
    let refreshed = rp
        .client
        .exchange_refresh_token(&first)
        .unwrap()
        .request_async(&p.http)
        .await
        .unwrap_or_else(|e| panic!("refresh: {e:?}"));
    let second = refreshed
        .refresh_token()
        .expect("a rotated refresh token")
        .clone();
    assert_ne!(second.secret(), first.secret());
    let newest = refreshed.access_token().clone();
    assert_eq!(userinfo_status(&p.app, newest.secret()).await, 200);
    let reused = rp
        .client
        .exchange_refresh_token(&first)
        .unwrap()
        .request_async(&p.http)
        .await;
    assert_grant_error(reused, &CoreErrorResponseType::InvalidGrant);
    assert_eq!(
        userinfo_status(&p.app, newest.secret()).await,
        401,
        "the grant outlived a reuse"
    );
    let after = rp
        .client
        .exchange_refresh_token(&second)
        .unwrap()
        .request_async(&p.http)
        .await;
    assert_grant_error(after, &CoreErrorResponseType::InvalidGrant);
    let dead = introspect(&p.app, &rp, newest.secret()).await;
    assert_eq!(dead, json!({"active": false}));
}

/// Single sign-on, remembered consent, `prompt=login`, first-party
/// clients, RFC 7009 revocation through the crate, and RP-initiated
/// logout (then the password is asked again, and `prompt=none` gets
/// `login_required`).
async fn sso_consent_revocation_and_logout(target: &Target) {
    let p = provider(target).await;
    let rp = register(&p, json!({})).await;
    let first_party = register(&p, json!({"firstParty": true, "name": "Our own app"})).await;
    let user = p.app.new_user().await;
    let browser = Browser::new(&p.app);

    // A first-party client is never asked for consent.
    let (_, _, landing) = sign_in(&p, &first_party.client, &browser, &user, &["profile"]).await;
    assert!(landing.password_asked && !landing.consent_asked, "{landing:?}");
    // Same browser, another client: no password (SSO), consent asked once.
    let (tokens, begun, landing) = sign_in(&p, &rp.client, &browser, &user, &["email"]).await;
    assert!(!landing.password_asked && landing.consent_asked, "{landing:?}");
    verify_id_token(&rp.client, &tokens, &begun.nonce);
    let (_, _, landing) = sign_in(&p, &rp.client, &browser, &user, &["email"]).await;
    assert!(
        !landing.password_asked && !landing.consent_asked,
        "remembered consent asked again: {landing:?}"
    );
    // A scope not allowed before is asked for.
    let (_, _, landing) = sign_in(&p, &rp.client, &browser, &user, &["profile"]).await;
    assert!(!landing.password_asked && landing.consent_asked, "{landing:?}");
    // prompt=login asks for the password again; prompt=consent for consent.
    let s = start(&rp.client, &["email"], Some(CoreAuthPrompt::Login));
    let landing = browser.walk(&s.url, Some(&user), REDIRECT).await;
    assert!(landing.password_asked && !landing.consent_asked, "{landing:?}");
    code_of(&p, &s, &landing);
    let s = start(&rp.client, &["email"], Some(CoreAuthPrompt::Consent));
    let landing = browser.walk(&s.url, Some(&user), REDIRECT).await;
    assert!(!landing.password_asked && landing.consent_asked, "{landing:?}");
    code_of(&p, &s, &landing);
    // A first-party client with prompt=none: the code at once.
    let s = start(&first_party.client, &[], Some(CoreAuthPrompt::None));
    let landing = browser.walk(&s.url, None, REDIRECT).await;
    code_of(&p, &s, &landing);

    // RFC 7009 through the crate: the grant ends (userinfo, introspection).
    let access = tokens.access_token().clone();
    assert_eq!(userinfo_status(&p.app, access.secret()).await, 200);
    let refresh = tokens.refresh_token().unwrap().clone();
    revoke(&p, &rp, CoreRevocableToken::from(refresh.clone())).await;
    assert_eq!(userinfo_status(&p.app, access.secret()).await, 401);
    assert_eq!(
        introspect(&p.app, &rp, access.secret()).await,
        json!({"active": false})
    );
    let again = rp
        .client
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&p.http)
        .await;
    assert_grant_error(again, &CoreErrorResponseType::InvalidGrant);
    // Revoking an access token ends its grant too.
    let (tokens, _, _) = sign_in(&p, &rp.client, &browser, &user, &["email"]).await;
    let access = tokens.access_token().clone();
    revoke(&p, &rp, CoreRevocableToken::from(access.clone())).await;
    assert_eq!(userinfo_status(&p.app, access.secret()).await, 401);

    // RP-initiated logout with the ID token as hint.
    let (tokens, _, _) = sign_in(&p, &rp.client, &browser, &user, &["email"]).await;
    let id_token = tokens.id_token().unwrap().to_string();
    let logout = format!(
        "/oauth2/logout?{}",
        form(&[
            ("id_token_hint", &id_token),
            ("post_logout_redirect_uri", AFTER_LOGOUT),
            ("state", "bye-42"),
        ])
    );
    let page = browser.get(&logout).await;
    assert_eq!(page.status, 303, "{page:?}");
    assert_eq!(
        page.location.as_deref(),
        Some(format!("{AFTER_LOGOUT}?state=bye-42").as_str())
    );
    assert!(!browser.signed_in(), "the SSO cookie outlived the logout");
    assert_eq!(userinfo_status(&p.app, tokens.access_token().secret()).await, 401);
    // The same browser is asked for the password again…
    let (_, _, landing) = sign_in(&p, &rp.client, &browser, &user, &["email"]).await;
    assert!(landing.password_asked, "{landing:?}");
    // …and, signed out again, prompt=none answers login_required.
    let page = browser.get(&logout).await;
    assert_eq!(page.status, 303, "{page:?}");
    let s = start(&rp.client, &["email"], Some(CoreAuthPrompt::None));
    let landing = browser.walk(&s.url, None, REDIRECT).await;
    assert_eq!(landing.param("error"), "login_required");
    assert_eq!(landing.param("state"), s.state.secret());
    assert_eq!(landing.param("iss"), p.app.base);
    assert!(!landing.query.contains_key("code"));
}

/// Both discovery documents: the same, exactly the fields of the spec, and
/// consistent with what is served.
async fn discovery_documents_list_exactly_what_is_served(target: &Target) {
    let p = provider(target).await;
    let oidc = p.app.get("/.well-known/openid-configuration").await;
    let oauth = p.app.get("/.well-known/oauth-authorization-server").await;
    assert_eq!(oidc.status.as_u16(), 200, "{}", oidc.text);
    assert_eq!(oidc.json, oauth.json, "the two documents differ");
    let d = &oidc.json;
    let base = &p.app.base;
    assert_keys(
        d,
        &[
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "userinfo_endpoint",
            "revocation_endpoint",
            "end_session_endpoint",
            "introspection_endpoint",
            "jwks_uri",
            "response_types_supported",
            "response_modes_supported",
            "grant_types_supported",
            "code_challenge_methods_supported",
            "id_token_signing_alg_values_supported",
            "access_token_signing_alg_values_supported",
            "token_endpoint_auth_methods_supported",
            "revocation_endpoint_auth_methods_supported",
            "introspection_endpoint_auth_methods_supported",
            "backchannel_logout_supported",
            "backchannel_logout_session_supported",
            "scopes_supported",
            "claims_supported",
            "subject_types_supported",
            "prompt_values_supported",
            "authorization_response_iss_parameter_supported",
            "request_parameter_supported",
            "request_uri_parameter_supported",
            "claims_parameter_supported",
        ],
    );
    assert_eq!(d["issuer"], base.as_str());
    for (field, path) in [
        ("authorization_endpoint", "/oauth2/authorize"),
        ("token_endpoint", "/oauth2/token"),
        ("userinfo_endpoint", "/oauth2/userinfo"),
        ("revocation_endpoint", "/oauth2/revoke"),
        ("end_session_endpoint", "/oauth2/logout"),
        ("introspection_endpoint", "/oauth2/introspect"),
        ("jwks_uri", "/.well-known/jwks.json"),
    ] {
        assert_eq!(d[field], format!("{base}{path}"), "{field}");
    }
    assert_eq!(d["response_types_supported"], json!(["code"]));
    assert_eq!(d["backchannel_logout_supported"], true);
    assert_eq!(d["backchannel_logout_session_supported"], true);
    assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        d["grant_types_supported"],
        json!(["authorization_code", "refresh_token", "client_credentials"])
    );
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        json!(["RS256", "ES256", "EdDSA"])
    );
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(
        d["scopes_supported"],
        json!(["openid", "profile", "email", "offline_access"])
    );
    assert_eq!(d["subject_types_supported"], json!(["public"]));
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    for claim in [
        "iss",
        "sub",
        "aud",
        "azp",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "sid",
        "at_hash",
        "amr",
        "name",
        "preferred_username",
        "picture",
        "email",
        "email_verified",
    ] {
        assert!(
            d["claims_supported"].as_array().unwrap().contains(&json!(claim)),
            "{claim} not in claims_supported"
        );
    }
    // What the crate read matches.
    assert_eq!(p.metadata.issuer().as_str(), base);
    assert!(
        p.metadata
            .id_token_signing_alg_values_supported()
            .contains(&openidconnect::core::CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256)
    );
    // Every ID-token algorithm has a key in the JWKS the crate fetched.
    let jwks = p.app.get("/.well-known/jwks.json").await;
    let algs: Vec<&str> = jwks.json["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    for alg in ["RS256", "ES256", "EdDSA"] {
        assert!(algs.contains(&alg), "no {alg} key in {algs:?}");
    }
}

/// ID tokens of ES256 and EdDSA clients verify with the crate too (it
/// reads the client's algorithm from the header and the key from the
/// JWKS); `at_hash` uses SHA-512 for Ed25519.
async fn id_tokens_verify_in_every_algorithm(target: &Target) {
    let p = provider(target).await;
    let user = p.app.new_user().await;
    for (alg, header_alg) in [("RS256", "RS256"), ("ES256", "ES256"), ("EdDSA", "EdDSA")] {
        let rp = register(&p, json!({"idTokenSignedResponseAlg": alg, "firstParty": true})).await;
        let browser = Browser::new(&p.app);
        let (tokens, start, _) = sign_in(&p, &rp.client, &browser, &user, &["profile"]).await;
        let id_token = tokens.id_token().unwrap().to_string();
        let header = jwt_claims(&format!("x.{}", id_token.split('.').next().unwrap()));
        assert_eq!(header["alg"], header_alg, "{alg}");
        let claims = verify_id_token(&rp.client, &tokens, &start.nonce);
        assert_eq!(claims.audiences()[0].as_str(), rp.id, "{alg}");
        // Userinfo works with the access token whatever the ID-token alg.
        let info = crate_userinfo(&p, &rp.client, tokens.access_token()).await;
        assert_eq!(info.subject(), claims.subject());
    }
}

/// `client_credentials`: a token for the client itself (`sub` = client id,
/// no `sid`), introspected active with its `client_id` and `scope` using
/// the client's own credentials, accepted by `auth-client`; userinfo
/// refuses it (no user).
async fn client_credentials_tokens_name_the_client(target: &Target) {
    let p = provider(target).await;
    let rp = register(
        &p,
        json!({"grantTypes": ["client_credentials"], "redirectUris": [], "scopes": ["orders.read", "orders.write", "openid"]}),
    )
    .await;
    let secret = rp.secret.clone().unwrap();
    let r = post_form(
        &p.app,
        "/oauth2/token",
        Some((&rp.id, &secret)),
        &form(&[("grant_type", "client_credentials"), ("scope", "orders.read")]),
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_keys(&r.json, &["access_token", "token_type", "expires_in", "scope"]);
    assert_eq!(r.json["scope"], "orders.read");
    let access = r.str("/access_token");
    let claims = jwt_claims(&access);
    assert_eq!(claims["sub"], rp.id.as_str());
    assert_eq!(claims["client_id"], rp.id.as_str());
    assert!(claims.get("sid").is_none(), "{claims}");
    let live = introspect(&p.app, &rp, &access).await;
    assert_eq!(live["active"], true, "{live}");
    assert_eq!(live["client_id"], rp.id.as_str());
    assert_eq!(live["scope"], "orders.read");
    assert_eq!(live["sub"], rp.id.as_str());
    assert!(live.get("sid").is_none(), "{live}");
    let auth = auth_client::AuthClient::discover(&p.app.base).await.unwrap();
    let verified = auth.verify(&access).await.unwrap();
    assert_eq!(verified.sid, None);
    assert_eq!(verified.scope.as_deref(), Some("orders.read"));
    assert_eq!(userinfo_status(&p.app, &access).await, 401);
    // Without scope: every registered scope but the user ones; through the
    // crate as well.
    let crate_client = rp_client(&p, &rp.id, Some(&secret));
    let t = crate_client
        .exchange_client_credentials()
        .unwrap()
        .request_async(&p.http)
        .await
        .unwrap_or_else(|e| panic!("client_credentials: {e:?}"));
    let scopes: Vec<String> = t.scopes().unwrap().iter().map(|s| s.to_string()).collect();
    assert_eq!(scopes, ["orders.read", "orders.write"]);
    // A scope it may not ask for.
    let r = post_form(
        &p.app,
        "/oauth2/token",
        Some((&rp.id, &secret)),
        &form(&[("grant_type", "client_credentials"), ("scope", "admin")]),
    )
    .await;
    assert_oauth_error(&r, 400, "invalid_scope");
}

crate::scenarios!(
    standard_client_signs_in_and_refreshes,
    sso_consent_revocation_and_logout,
    discovery_documents_list_exactly_what_is_served,
    id_tokens_verify_in_every_algorithm,
    client_credentials_tokens_name_the_client,
);
