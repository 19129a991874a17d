//! The figures of a run, written as the Markdown section of
//! `docs/performance.md`.

use super::*;

pub(crate) fn report(params: &Params, figures: &[Figures]) -> String {
    let mut rows: Vec<[String; 3]> = Vec::new();
    let mut row = |label: &str, cell: &dyn Fn(&Figures) -> String, target: &str| {
        let cells: Vec<String> = figures.iter().map(cell).collect();
        rows.push([label.to_owned(), cells.join(" | "), target.to_owned()]);
    };
    row(
        "argon2 ceiling: verifications/s, one thread per core, in-process",
        &|f| format!("{:.1}/s", f.ceiling),
        "",
    );
    row(
        "password logins/s at saturation (`standard`, 4 clients per core)",
        &|f| {
            let r = f.logins / f.ceiling;
            format!(
                "{:.1}/s = **{:.0} %** of the ceiling ({})",
                f.logins,
                r * 100.0,
                verdict(r >= 0.9)
            )
        },
        "≥ 90 % of the ceiling",
    );
    row(
        "refresh latency alone (one every 5 ms): p50 / p99",
        &|f| {
            format!(
                "{} / {} ({} samples)",
                ms(percentile(&f.idle, 50.0)),
                ms(percentile(&f.idle, 99.0)),
                f.idle.len()
            )
        },
        "",
    );
    row(
        "refresh latency during the login flood: p50 / p99",
        &|f| {
            let r = f.lat_ratio;
            format!(
                "{} / {}; p99 ÷ p99 alone, median of rounds: **{:.2}×** ({}; {} samples)",
                ms(percentile(&f.flood, 50.0)),
                ms(percentile(&f.flood, 99.0)),
                r,
                verdict(r <= 2.0),
                f.flood.len()
            )
        },
        "p99 ≤ 2× alone",
    );
    row(
        "control: the same with `synchronous_commit=off`, p50 / p99 alone → during the flood",
        &|f| match &f.control {
            Some((i, fl)) => {
                let (a, b) = (percentile(i, 99.0), percentile(fl, 99.0));
                format!(
                    "{} / {} → {} / {} (p99 {:.2}×)",
                    ms(percentile(i, 50.0)),
                    ms(a),
                    ms(percentile(fl, 50.0)),
                    ms(b),
                    b.as_secs_f64() / a.as_secs_f64()
                )
            }
            None => "–".into(),
        },
        "diagnosis only",
    );
    row(
        "token-only `GET /api/auth/me`, req/s",
        &|f| {
            let r = f.me_ratio;
            format!(
                "{:.0}/s; median of rounds: **{:.0} %** of bare ({})",
                f.me,
                r * 100.0,
                verdict(r >= 0.7)
            )
        },
        "≥ 70 % of bare",
    );
    row(
        "bare actix-web JSON handler (same run), req/s",
        &|f| format!("{:.0}/s", f.bare),
        "",
    );
    row(
        "refresh (rotation, a database write) throughput, 4 sessions per core",
        &|f| format!("{:.0}/s", f.refreshes),
        "",
    );
    row(
        "control: the same rotations with `synchronous_commit=off` (no WAL flush at commit), taking turns",
        &|f| match f.control_refreshes {
            Some(c) => format!("{c:.0}/s ({:.2}× the real one)", c / f.refreshes),
            None => "–".into(),
        },
        "diagnosis only",
    );
    row(
        "idle RSS: after start / 12 s after the load above",
        &|f| {
            format!(
                "{} / {} ({})",
                mb(f.rss_fresh_kib),
                mb(f.rss_after_kib),
                verdict(f.rss_fresh_kib.max(f.rss_after_kib) * 1024 <= 25_000_000)
            )
        },
        "≤ 25 MB",
    );
    row(
        "start → ready (`/readyz`): first start (migrations) / restart, median",
        &|f| {
            let target = if f.backend == "SQLite" {
                format!(" ({})", verdict(f.ready <= Duration::from_millis(150)))
            } else {
                String::new()
            };
            format!("{} / {}{}", ms(f.first_ready), ms(f.ready), target)
        },
        "≤ 150 ms on SQLite",
    );
    let header = figures.iter().map(|f| f.backend).collect::<Vec<_>>().join(" | ");
    let dashes = figures.iter().map(|_| "---").collect::<Vec<_>>().join("|");
    let mut table = format!("| figure | {header} | target |\n|---|{dashes}|---|\n");
    for [label, cells, target] in rows {
        table.push_str(&format!("| {label} | {cells} | {target} |\n"));
    }
    format!(
        "Measured {date} on {machine}, release build, loopback (`cargo run --release -p auth-bench \
         --bin load-bench -- --seconds {s} --rounds {r} --restarts {n}`): medians of {r} interleaved rounds \
         of {s} s; argon2id m=19456 KiB, t=2, p=1; server defaults except rate limits, login throttling and \
         the sign-up email gate off; `RUST_LOG=info`.\n\n{table}",
        date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine = machine(),
        s = params.seconds,
        r = params.rounds,
        n = params.restarts,
    )
}
