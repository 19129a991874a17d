# Recipes for working on the auth service. `just` alone lists them.
# Every recipe is a plain cargo command, so nothing here is required.

# List the recipes.
default:
    @just --list

# Run the service on SQLite with the defaults (127.0.0.1:8080, ./auth.db).
run:
    cargo run --bin auth-server

# Apply database migrations and exit (uses AUTH_DATABASE_URL).
migrate:
    cargo run --bin auth-server -- migrate

# Run every test, on SQLite and PostgreSQL (needs PostgreSQL, see README).
test:
    cargo test --workspace

# Run the contract suite against a running deployment (docs/qa.md for the
# mail, OAuth and admin options: `just qa URL --admin-token T --smtp-bind …`).
qa base_url *options:
    cargo run --release -p auth-qa -- --base-url {{base_url}} {{options}}

# Format the code.
fmt:
    cargo fmt --all

# Lint like CI does.
lint:
    cargo clippy --workspace --all-targets -- -D warnings

# Everything CI runs.
ci:
    bash .ci/run

# Throughput, latency, memory and start-up against the machine's limits
# (release build, SQLite and PostgreSQL, ~3 minutes); writes docs/performance.md.
# `just bench --scale` runs `bench-scale` with its defaults instead.
bench seconds="3" rounds="5" accounts="100000":
    {{ if seconds == "--scale" { just_executable() + " bench-scale" } else { "cargo build --release --bin auth-server --bin load-bench --bin import-bench && ./target/release/load-bench --seconds " + seconds + " --rounds " + rounds + " && ./target/release/import-bench --accounts " + accounts } }}

# Cost as the data grows (issue 18): the load-bench figures on an empty
# database and on one filled with `accounts` accounts (each with a live
# session and refresh history) and 10 × accounts audit rows, as ratios, then
# the database size under a sustained churn with the scheduled purge, then
# the memory per idle socket split into actix-ws's floor and ours (release
# build, SQLite and PostgreSQL); writes docs/performance.md between the
# load-bench-scale markers. `just bench --scale` runs it with the defaults.
bench-scale accounts="1000000" seconds="2" rounds="3" churn="300" sockets="1000,10000,19500":
    cargo build --release --bin auth-server --bin load-bench --bin ws-floor
    ./target/release/load-bench --scale --scale-accounts {{accounts}} --seconds {{seconds}} --rounds {{rounds}} --churn-seconds {{churn}} --socket-sizes {{sockets}}

# Sign and verify cost per token algorithm, and auth-client's verify
# throughput (release build); writes docs/performance.md.
# The OpenID provider's token endpoint (issue 28): client_credentials
# grants/s and authorization-code exchanges/s on SQLite and PostgreSQL,
# written to docs/performance.md between the load-bench-oidc markers.
bench-oidc seconds="3" rounds="5" codes="3000":
    cargo build --release --bin auth-server --bin load-bench
    ./target/release/load-bench --oidc --seconds {{seconds}} --rounds {{rounds}} --codes {{codes}}

bench-tokens:
    cargo build --release --bin token-bench
    ./target/release/token-bench

# Account import speed on SQLite and PostgreSQL, and the login cost of each
# foreign password scheme (release build); writes docs/performance.md.
bench-import accounts="100000":
    cargo build --release --bin import-bench
    ./target/release/import-bench --accounts {{accounts}}

# Socket capacity, memory per socket (the actix-ws floor and ours above it,
# at each of `sizes` sockets) and cross-instance LOGOUT latency (release
# build, PostgreSQL); writes docs/performance.md.
bench-ws sockets="10000" rounds="200" sizes="1000,10000,19500":
    cargo build --release --bin auth-server --bin ws-bench --bin ws-floor
    ./target/release/ws-bench --sockets {{sockets}} --rounds {{rounds}} --sizes {{sizes}}

# Session ends reaching services (issue 31): from a logout on instance A to
# a service using auth-client (registered with instance B) refusing the old
# token, by push and by poll (PostgreSQL), and back-channel logout tokens
# delivered per second by one instance for ES256 and RS256 clients (SQLite
# and PostgreSQL); release build, under 2 minutes; writes docs/performance.md.
bench-logout rounds="200" sessions="5000" throughput_rounds="3":
    cargo build --release --bin auth-server --bin logout-bench
    ./target/release/logout-bench --rounds {{rounds}} --sessions {{sessions}} --throughput-rounds {{throughput_rounds}}

# What each operation costs each side (docs/capacity.md): server CPU,
# PostgreSQL backend CPU, statements, commits, rows and WAL bytes per login,
# rotation, token check, code send, socket and back-channel event, from
# /proc, pg_stat_statements and pg_walinspect (release build, PostgreSQL 15+
# then SQLite, ~10 minutes with the defaults); needs pg_stat_statements
# preloaded (the bench says how); writes docs/capacity.md between the
# cost-bench markers.
bench-costs rounds="3" logins="200" logouts="400":
    cargo build --release --bin auth-server --bin cost-bench
    ./target/release/cost-bench --rounds {{rounds}} --logins {{logins}} --logouts {{logouts}}

# Failed-login timing for existing vs unknown accounts (release build,
# SQLite); writes docs/security.md.
bench-timing rounds="150":
    cargo build --release --bin auth-server --bin timing-bench
    ./target/release/timing-bench --rounds {{rounds}}

# A long run without drift: a level mixed load (logins, rotations, token
# checks, code sends, socket churn, admin searches) for `minutes` on SQLite,
# then PostgreSQL, sampling the server's RSS, file descriptors, threads,
# database size, pool use and p50/p99 per operation every 10 s, with the
# slope of each series over the last two thirds (release build; a
# benchmark, not a test; `options` e.g. `--backend sqlite --rate 80`);
# writes docs/soak/ and docs/performance.md between the soak markers.
soak minutes="30" *options:
    cargo build --release --bin auth-server --bin soak-bench
    ./target/release/soak-bench --minutes {{minutes}} {{options}}

# The release server under valgrind's memcheck while auth-qa drives the
# scenarios matching `filter`, then SIGTERM (issue 32: the exit-time heap
# corruption); PostgreSQL over TLS by default. Fails on any memory error.
memcheck filter="session::" backend="postgres":
    bash tests/memcheck.sh {{filter}} {{backend}}
