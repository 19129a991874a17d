-- The console's client (issue 30), sqlite. The console and the account pages
-- sign in as the built-in public client auth-console; the service answers
-- its settings itself (auth_domain::oidc::console::WithConsole), and this
-- row only lets codes and consents reference it (their foreign keys).
-- Keep in step with ../../postgres.

INSERT INTO oauth_clients (client_id, name, secret_hash, redirect_uris, post_logout_redirect_uris,
    grant_types, auth_method, scopes, first_party, id_token_alg, backchannel_logout_uri,
    created_at, updated_at)
VALUES ('auth-console', 'Console', NULL, '', '', 'authorization_code', 'none',
    'openid profile email', 1, 'RS256', NULL, '2026-12-09 10:00:00', '2026-12-09 10:00:00');
