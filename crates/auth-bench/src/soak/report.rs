//! The soak's outputs: the series as CSV, the chart, and the Markdown
//! table of levels and slopes over the last two thirds of the run.

use std::fmt::Write as _;

use super::stats::{Fit, Verdict, fit};
use super::svg::{Line, PALETTE, Panel, chart};
use super::{COUNTED_TABLES, OPS, Sample};

/// The largest change an hour may make to a series' level, as a fraction,
/// for a slope distinguishable from zero still to count as flat.
pub const TOLERANCE: f64 = 0.02;

/// One series of the run.
#[derive(Debug)]
pub struct Column {
    /// CSV header.
    pub key: String,
    /// What it is, for the table.
    pub label: String,
    /// Unit after a value (`" MB"`, `" ms"`, `""`).
    pub unit: &'static str,
    /// One value per sample.
    pub values: Vec<f64>,
    /// Whether the table fits it.
    pub fitted: bool,
}

fn column(key: &str, label: &str, unit: &'static str, fitted: bool, values: Vec<f64>) -> Column {
    Column {
        key: key.to_owned(),
        label: label.to_owned(),
        unit,
        values,
        fitted,
    }
}

/// Every series of `samples`, in CSV order.
pub fn columns(samples: &[Sample]) -> Vec<Column> {
    let get = |f: &dyn Fn(&Sample) -> f64| samples.iter().map(f).collect::<Vec<f64>>();
    let mut out = vec![
        column("rss_mb", "RSS", " MB", true, get(&|s| s.rss_mb)),
        column(
            "rss_anon_mb",
            "RSS, anonymous",
            " MB",
            true,
            get(&|s| s.rss_anon_mb),
        ),
        column(
            "rss_file_mb",
            "RSS, file-backed",
            " MB",
            true,
            get(&|s| s.rss_file_mb),
        ),
        column("fds", "open file descriptors", "", true, get(&|s| s.fds)),
        column("threads", "threads", "", true, get(&|s| s.threads)),
        column("db_mb", "database size", " MB", true, get(&|s| s.db_mb)),
        column(
            "db_without_audit_mb",
            "database size without the audit trail",
            " MB",
            true,
            get(&|s| s.db_mb - s.audit_mb),
        ),
        column(
            "db_without_audit_codes_mb",
            "database size without the audit trail and the codes",
            " MB",
            true,
            get(&|s| s.db_mb - s.audit_mb - s.codes_mb),
        ),
        column(
            "pool_open",
            "pool connections open",
            "",
            true,
            get(&|s| s.pool_open),
        ),
        column(
            "pool_in_use_mean",
            "pool connections in use (mean of 1 s readings)",
            "",
            true,
            get(&|s| s.pool_in_use_mean),
        ),
        column(
            "pool_in_use_max",
            "pool connections in use (largest 1 s reading)",
            "",
            false,
            get(&|s| s.pool_in_use_max),
        ),
        column(
            "ops_per_s",
            "operations completed per second, all kinds",
            "/s",
            true,
            get(&|s| s.ops.iter().map(|o| o.done as f64).sum::<f64>() / s.window),
        ),
        column(
            "errors",
            "failed operations",
            "",
            false,
            get(&|s| s.ops.iter().map(|o| o.errors as f64).sum()),
        ),
        column(
            "skipped",
            "ticks dropped (too many in flight)",
            "",
            false,
            get(&|s| s.skipped as f64),
        ),
        column(
            "mails",
            "mails removed from the outbox",
            "",
            false,
            get(&|s| s.mails as f64),
        ),
        column(
            "load1",
            "machine load average, 1 min (every process)",
            "",
            false,
            get(&|s| s.load1),
        ),
    ];
    for (i, table) in COUNTED_TABLES.iter().enumerate() {
        out.push(column(
            &format!("rows_{table}"),
            &format!("rows of `{table}`"),
            "",
            false,
            get(&|s| s.rows[i] as f64),
        ));
    }
    for (i, op) in OPS.iter().enumerate() {
        let k = op.key();
        out.push(column(
            &format!("{k}_per_s"),
            &format!("{k}: completed/s"),
            "/s",
            false,
            get(&|s| s.ops[i].done as f64 / s.window),
        ));
        out.push(column(
            &format!("{k}_errors"),
            &format!("{k}: failed"),
            "",
            false,
            get(&|s| s.ops[i].errors as f64),
        ));
    }
    for (i, op) in OPS.iter().enumerate() {
        let k = op.key();
        out.push(column(
            &format!("{k}_p50_ms"),
            &format!("{k} p50"),
            " ms",
            true,
            get(&|s| s.ops[i].p50_ms),
        ));
    }
    for (i, op) in OPS.iter().enumerate() {
        let k = op.key();
        out.push(column(
            &format!("{k}_p99_ms"),
            &format!("{k} p99"),
            " ms",
            true,
            get(&|s| s.ops[i].p99_ms),
        ));
    }
    out
}

/// A number with as many decimals as its size needs.
fn num(v: f64) -> String {
    if !v.is_finite() {
        "".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else if v.abs() >= 0.1 || v == 0.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// A signed [`num`].
fn signed(v: f64) -> String {
    if v >= 0.0 { format!("+{}", num(v)) } else { num(v) }
}

/// A number for the CSV: whole numbers without decimals, others to three
/// decimals without trailing zeros, nothing for a gap.
fn csv_num(v: f64) -> String {
    if !v.is_finite() {
        String::new()
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// The CSV text: `t_s` then every column, one row per sample.
pub fn csv(samples: &[Sample], columns: &[Column]) -> String {
    let mut out = String::from("t_s");
    for c in columns {
        out.push(',');
        out.push_str(&c.key);
    }
    out.push('\n');
    for (i, s) in samples.iter().enumerate() {
        out.push_str(&format!("{:.0}", s.at));
        for c in columns {
            out.push(',');
            out.push_str(&csv_num(c.values[i]));
        }
        out.push('\n');
    }
    out
}

fn find<'a>(columns: &'a [Column], key: &str) -> &'a [f64] {
    columns.iter().find(|c| c.key == key).map_or(&[], |c| &c.values)
}

/// The chart of a run.
pub fn svg(title: &str, subtitle: &str, samples: &[Sample], columns: &[Column], end: f64) -> String {
    let times: Vec<f64> = samples.iter().map(|s| s.at).collect();
    let one = |title: &str, key: &str| Panel {
        title: title.to_owned(),
        log: false,
        lines: vec![Line {
            label: "",
            color: PALETTE[0],
            values: find(columns, key),
        }],
        legend: false,
    };
    let per_op = |title: &str, suffix: &str, log: bool| Panel {
        title: title.to_owned(),
        log,
        lines: OPS
            .iter()
            .enumerate()
            .map(|(i, o)| Line {
                label: o.key(),
                color: PALETTE[i],
                values: find(columns, &format!("{}{suffix}", o.key())),
            })
            .collect(),
        legend: false,
    };
    let several = |title: &str, lines: &[(&'static str, &str)]| Panel {
        title: title.to_owned(),
        log: false,
        lines: lines
            .iter()
            .enumerate()
            .map(|(i, &(label, key))| Line {
                label,
                color: PALETTE[i],
                values: find(columns, key),
            })
            .collect(),
        legend: true,
    };
    let panels = [
        several(
            "RSS (MB)",
            &[
                ("total", "rss_mb"),
                ("anonymous", "rss_anon_mb"),
                ("file-backed", "rss_file_mb"),
            ],
        ),
        one("open file descriptors", "fds"),
        one("threads", "threads"),
        several(
            "database size (MB)",
            &[
                ("total", "db_mb"),
                ("w/o audit", "db_without_audit_mb"),
                ("w/o audit & codes", "db_without_audit_codes_mb"),
            ],
        ),
        several(
            "pool connections",
            &[
                ("open", "pool_open"),
                ("in use, mean", "pool_in_use_mean"),
                ("in use, max", "pool_in_use_max"),
            ],
        ),
        per_op("completed per second, by operation", "_per_s", false),
        per_op("p50 by operation (ms, log scale)", "_p50_ms", true),
        per_op("p99 by operation (ms, log scale)", "_p99_ms", true),
        several(
            "rows",
            &[
                ("sessions", "rows_sessions"),
                ("refresh records", "rows_refresh_tokens"),
                ("codes", "rows_verification_codes"),
            ],
        ),
        one(
            &format!(
                "machine load average, 1 min (every process; {} cores)",
                std::thread::available_parallelism().map_or(0, usize::from)
            ),
            "load1",
        ),
    ];
    let legend: Vec<(&str, &str)> = OPS
        .iter()
        .enumerate()
        .map(|(i, o)| (o.key(), PALETTE[i]))
        .collect();
    chart(title, subtitle, &legend, &times, &panels, end / 3.0, end)
}

fn verdict_text(v: Verdict) -> String {
    match v {
        Verdict::Flat => "flat".into(),
        Verdict::FlatSmall => format!("flat (under {:.0} % an hour)", TOLERANCE * 100.0),
        Verdict::Grows => "**grows**".into(),
        Verdict::Falls => "**falls**".into(),
    }
}

/// The fit of a column over the samples at or after `from` seconds.
pub fn fit_of(samples: &[Sample], column: &Column, from: f64) -> Option<Fit> {
    let points: Vec<(f64, f64)> = samples
        .iter()
        .zip(&column.values)
        .filter(|(s, _)| s.at >= from)
        .map(|(s, v)| (s.at, *v))
        .collect();
    fit(&points)
}

/// The Markdown table of the fitted columns, and the keys of those that
/// are not flat.
pub fn table(samples: &[Sample], columns: &[Column], from: f64) -> (String, Vec<String>) {
    let mut out = String::from(
        "| series | level (median, last ⅔) | slope per hour [95 % interval] \
         | an hour at that slope ÷ level | verdict |\n|---|---:|---:|---:|---|\n",
    );
    let mut drifting = Vec::new();
    for c in columns.iter().filter(|c| c.fitted) {
        let Some(f) = fit_of(samples, c, from) else {
            let _ = writeln!(out, "| {} | | | | too few samples |", c.label);
            continue;
        };
        let v = f.verdict(TOLERANCE);
        if matches!(v, Verdict::Grows | Verdict::Falls) {
            drifting.push(c.key.clone());
        }
        let relative = f.relative();
        let _ = writeln!(
            out,
            "| {} | {}{} | {}{u} [{}, {}] | {} | {} |",
            c.label,
            num(f.level),
            c.unit,
            signed(f.slope),
            signed(f.low),
            signed(f.high),
            if relative.is_finite() {
                format!("{:+.1} %", relative * 100.0)
            } else {
                "".into()
            },
            verdict_text(v),
            u = c.unit,
        );
    }
    (out, drifting)
}
