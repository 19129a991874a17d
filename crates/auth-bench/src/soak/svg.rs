//! The soak chart as SVG text: small multiples, one panel per series
//! (several lines in one panel where they share a unit), time in minutes
//! across, the unfitted first third shaded, and on linear panels the
//! least-squares line of the fitted part dashed over each series.

use std::fmt::Write as _;

use super::stats::fit;

/// One line of a panel.
#[derive(Debug)]
pub struct Line<'a> {
    /// Its legend text.
    pub label: &'a str,
    /// A CSS colour.
    pub color: &'a str,
    /// One value per sample time (`NaN` leaves a gap).
    pub values: &'a [f64],
}

/// One panel.
#[derive(Debug)]
pub struct Panel<'a> {
    /// Title, with the unit.
    pub title: String,
    /// A logarithmic value axis (latencies of different operations).
    pub log: bool,
    /// Its lines.
    pub lines: Vec<Line<'a>>,
    /// Whether the panel shows its own legend (else the chart's applies).
    pub legend: bool,
}

/// The colours of the operations and of a panel's lines, in order.
pub const PALETTE: [&str; 6] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];

const WIDTH: f64 = 1000.0;
const PANEL_W: f64 = 500.0;
const PANEL_H: f64 = 230.0;
const HEADER: f64 = 78.0;
const LEFT: f64 = 58.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 36.0;

/// `&`, `<` and `>` escaped for SVG text.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A round step giving about `target` intervals up to `max`.
fn nice_step(max: f64, target: f64) -> f64 {
    let raw = (max / target).max(f64::MIN_POSITIVE);
    let magnitude = 10f64.powf(raw.log10().floor());
    let steps = [1.0, 2.0, 2.5, 5.0, 10.0];
    steps
        .iter()
        .map(|s| s * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude)
}

/// A tick label without needless decimals.
fn tick_label(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').to_owned()
    }
}

/// The value axis: maps a value to 0..1 of the plot's height, with ticks.
struct Axis {
    log: bool,
    low: f64,
    high: f64,
    ticks: Vec<f64>,
}

impl Axis {
    fn new(log: bool, values: impl Iterator<Item = f64> + Clone) -> Axis {
        let finite = values.filter(|v| v.is_finite());
        if log {
            let positive = finite.filter(|v| *v > 0.0);
            let min = positive.clone().fold(f64::INFINITY, f64::min);
            let max = positive.fold(0.0, f64::max);
            let (mut low, mut high) = if max > 0.0 {
                (min.log10().floor(), max.log10().ceil())
            } else {
                (0.0, 1.0)
            };
            if high <= low {
                high = low + 1.0;
            }
            low = low.min(high - 1.0);
            let ticks = (low as i32..=high as i32).map(|e| 10f64.powi(e)).collect();
            Axis {
                log,
                low,
                high,
                ticks,
            }
        } else {
            let max = finite.fold(0.0, f64::max);
            let step = nice_step(if max > 0.0 { max * 1.1 } else { 1.0 }, 4.0);
            let high = ((if max > 0.0 { max * 1.1 } else { 1.0 }) / step).ceil() * step;
            let ticks = (0..=(high / step).round() as usize)
                .map(|i| i as f64 * step)
                .collect();
            Axis {
                log,
                low: 0.0,
                high,
                ticks,
            }
        }
    }

    /// 0 at the bottom, 1 at the top; `None` for a value the axis cannot
    /// show (`NaN`, or not positive on a log axis).
    fn fraction(&self, v: f64) -> Option<f64> {
        if !v.is_finite() || (self.log && v <= 0.0) {
            return None;
        }
        let v = if self.log { v.log10() } else { v };
        Some(((v - self.low) / (self.high - self.low)).clamp(-0.02, 1.02))
    }
}

/// The chart: `title` and `subtitle` above, `legend` (label, colour) for
/// the panels that have none of their own, the panels two to a row.
/// `times` are the sample times in seconds, `end` the run's length and
/// `fit_from` where the fitted part starts.
pub fn chart(
    title: &str,
    subtitle: &str,
    legend: &[(&str, &str)],
    times: &[f64],
    panels: &[Panel],
    fit_from: f64,
    end: f64,
) -> String {
    let rows = panels.len().div_ceil(2);
    let height = HEADER + rows as f64 * PANEL_H;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"12\" y=\"22\" font-size=\"16\" font-weight=\"bold\">{}</text>\n\
         <text x=\"12\" y=\"40\" fill=\"#444\">{}</text>\n",
        esc(title),
        esc(subtitle)
    );
    let mut x = 12.0;
    for (label, color) in legend {
        let _ = writeln!(
            svg,
            "<rect x=\"{x}\" y=\"53\" width=\"14\" height=\"4\" fill=\"{color}\"/>\
             <text x=\"{}\" y=\"59\">{}</text>",
            x + 18.0,
            esc(label)
        );
        x += 30.0 + 6.5 * label.chars().count() as f64;
    }
    let _ = writeln!(
        svg,
        "<rect x=\"{x}\" y=\"50\" width=\"14\" height=\"10\" fill=\"#eee\"/>\
         <text x=\"{}\" y=\"59\">first third: not fitted</text>\
         <line x1=\"{}\" y1=\"55\" x2=\"{}\" y2=\"55\" stroke=\"#555\" stroke-dasharray=\"4 3\"/>\
         <text x=\"{}\" y=\"59\">least-squares line of the rest</text>",
        x + 18.0,
        x + 150.0,
        x + 168.0,
        x + 172.0
    );
    for (i, panel) in panels.iter().enumerate() {
        let ox = (i % 2) as f64 * PANEL_W;
        let oy = HEADER + (i / 2) as f64 * PANEL_H;
        draw_panel(&mut svg, panel, times, fit_from, end, ox, oy);
    }
    svg.push_str("</svg>\n");
    svg
}

fn draw_panel(svg: &mut String, panel: &Panel, times: &[f64], fit_from: f64, end: f64, ox: f64, oy: f64) {
    let (px, py) = (ox + LEFT, oy + TOP);
    let (pw, ph) = (PANEL_W - LEFT - RIGHT, PANEL_H - TOP - BOTTOM);
    let end = end.max(1.0);
    let sx = |t: f64| px + t / end * pw;
    let axis = Axis::new(
        panel.log,
        panel.lines.iter().flat_map(|l| l.values.iter().copied()),
    );
    let sy = |f: f64| py + ph - f * ph;
    let _ = writeln!(
        svg,
        "<text x=\"{px}\" y=\"{}\" font-size=\"12\" font-weight=\"bold\">{}</text>\n\
         <rect x=\"{px}\" y=\"{py}\" width=\"{:.1}\" height=\"{ph}\" fill=\"#eee\"/>",
        oy + 20.0,
        esc(&panel.title),
        (sx(fit_from) - px).max(0.0)
    );
    if panel.legend {
        let mut lx = px + pw;
        for line in panel.lines.iter().rev() {
            lx -= 24.0 + 6.0 * line.label.chars().count() as f64;
            let _ = writeln!(
                svg,
                "<rect x=\"{lx}\" y=\"{}\" width=\"12\" height=\"4\" fill=\"{}\"/>\
                 <text x=\"{}\" y=\"{}\" font-size=\"10\">{}</text>",
                oy + 15.0,
                line.color,
                lx + 15.0,
                oy + 20.0,
                esc(line.label)
            );
        }
    }
    for tick in &axis.ticks {
        if let Some(f) = axis.fraction(*tick) {
            let y = sy(f);
            let _ = writeln!(
                svg,
                "<line x1=\"{px}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#333\">{}</text>",
                px + pw,
                px - 5.0,
                y + 4.0,
                tick_label(*tick)
            );
        }
    }
    let minutes = end / 60.0;
    let step = if minutes <= 12.0 {
        1.0
    } else if minutes <= 30.0 {
        5.0
    } else {
        nice_step(minutes, 6.0)
    };
    let mut m = 0.0;
    while m <= minutes + 1e-9 {
        let x = sx(m * 60.0);
        let _ = writeln!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#333\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#333\">{}</text>",
            py + ph,
            py + ph + 4.0,
            py + ph + 16.0,
            tick_label(m)
        );
        m += step;
    }
    let _ = writeln!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\" font-size=\"10\">minutes</text>\n\
         <rect x=\"{px}\" y=\"{py}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#333\"/>",
        px + pw / 2.0,
        py + ph + 29.0
    );
    for line in &panel.lines {
        // One polyline per unbroken run of values.
        let mut runs: Vec<Vec<(f64, f64)>> = vec![vec![]];
        for (t, v) in times.iter().zip(line.values) {
            match axis.fraction(*v) {
                Some(f) => {
                    if let Some(run) = runs.last_mut() {
                        run.push((sx(*t), sy(f)));
                    }
                }
                None => runs.push(vec![]),
            }
        }
        for run in runs.iter().filter(|r| !r.is_empty()) {
            let points: Vec<String> = run.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
            let _ = writeln!(
                svg,
                "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.6\" points=\"{}\"/>",
                line.color,
                points.join(" ")
            );
            if run.len() == 1 {
                let _ = writeln!(
                    svg,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"1.8\" fill=\"{}\"/>",
                    run[0].0, run[0].1, line.color
                );
            }
        }
        if panel.log {
            continue;
        }
        let fitted: Vec<(f64, f64)> = times
            .iter()
            .zip(line.values)
            .filter(|(t, _)| **t >= fit_from)
            .map(|(t, v)| (*t, *v))
            .collect();
        let (Some(first), Some(last)) = (fitted.first(), fitted.last()) else {
            continue;
        };
        if let Some(f) = fit(&fitted) {
            let ends = [first.0, last.0].map(|t| (sx(t), axis.fraction(f.at(t)).map(sy)));
            if let [(x1, Some(y1)), (x2, Some(y2))] = ends {
                let _ = writeln!(
                    svg,
                    "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"#222\" \
                     stroke-opacity=\"0.7\" stroke-width=\"1\" stroke-dasharray=\"4 3\"/>"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_have_round_ticks_from_zero_or_whole_decades() {
        let linear = Axis::new(false, [3.0, 27.0].into_iter());
        assert_eq!(linear.ticks.first(), Some(&0.0));
        assert!(*linear.ticks.last().unwrap() >= 27.0, "{:?}", linear.ticks);
        let log = Axis::new(true, [0.4, 35.0, f64::NAN].into_iter());
        assert_eq!(log.ticks, vec![0.1, 1.0, 10.0, 100.0]);
        assert_eq!(log.fraction(-1.0), None);
    }

    #[test]
    fn a_chart_is_one_svg_document_with_a_line_per_series() {
        let times = [10.0, 20.0, 30.0, 40.0];
        let values = [1.0, 2.0, f64::NAN, 4.0];
        let panel = Panel {
            title: "RSS (MB) & more".into(),
            log: false,
            lines: vec![Line {
                label: "rss",
                color: PALETTE[0],
                values: &values,
            }],
            legend: true,
        };
        let svg = chart("t", "s", &[], &times, &[panel], 15.0, 40.0);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert!(svg.contains("RSS (MB) &amp; more"));
        // The gap splits the series: a polyline of two points and a lone one.
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 1);
    }
}
