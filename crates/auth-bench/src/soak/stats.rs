//! Drift of a series: the least-squares line over the fitted part of a
//! run, its slope per hour with a 95 % confidence interval, and the level
//! (median) it is compared with.

/// A least-squares line through `(seconds, value)` points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    /// Points fitted (those whose value is a number).
    pub n: usize,
    /// Median of the fitted values.
    pub level: f64,
    /// Slope, units per hour.
    pub slope: f64,
    /// 95 % confidence interval of the slope, units per hour.
    pub low: f64,
    /// Upper end of that interval.
    pub high: f64,
    /// The line's value at `mean_t`.
    pub mean_y: f64,
    /// Mean time of the fitted points, seconds.
    pub mean_t: f64,
}

/// What a fit says about a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The slope's interval contains zero.
    Flat,
    /// The slope is distinguishable from zero but changes the level by
    /// less than the tolerance per hour.
    FlatSmall,
    /// Rises faster than the tolerance.
    Grows,
    /// Falls faster than the tolerance.
    Falls,
}

impl Fit {
    /// The line's value at `t` seconds.
    pub fn at(&self, t: f64) -> f64 {
        self.mean_y + self.slope / 3600.0 * (t - self.mean_t)
    }

    /// The slope as a fraction of the level, per hour (`NaN` at level 0).
    pub fn relative(&self) -> f64 {
        if self.level == 0.0 {
            f64::NAN
        } else {
            self.slope / self.level.abs()
        }
    }

    /// Flat when the interval holds zero, or when an hour at this slope
    /// changes the level by less than `tolerance` (a fraction).
    pub fn verdict(&self, tolerance: f64) -> Verdict {
        if self.low <= 0.0 && 0.0 <= self.high {
            Verdict::Flat
        } else if self.slope.abs() <= tolerance * self.level.abs() {
            Verdict::FlatSmall
        } else if self.slope > 0.0 {
            Verdict::Grows
        } else {
            Verdict::Falls
        }
    }
}

/// The least-squares fit of the points whose value is finite; `None` with
/// fewer than three of them or when they all share one time.
pub fn fit(points: &[(f64, f64)]) -> Option<Fit> {
    let points: Vec<(f64, f64)> = points.iter().copied().filter(|(_, y)| y.is_finite()).collect();
    let n = points.len();
    if n < 3 {
        return None;
    }
    let nf = n as f64;
    let mean_t = points.iter().map(|p| p.0).sum::<f64>() / nf;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / nf;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_t).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_t) * (p.1 - mean_y)).sum();
    let slope = sxy / sxx;
    let sse: f64 = points
        .iter()
        .map(|p| (p.1 - mean_y - slope * (p.0 - mean_t)).powi(2))
        .sum();
    let se = (sse / (nf - 2.0) / sxx).sqrt();
    let half = t975(n - 2) * se;
    let mut values: Vec<f64> = points.iter().map(|p| p.1).collect();
    values.sort_by(f64::total_cmp);
    let level = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    Some(Fit {
        n,
        level,
        slope: slope * 3600.0,
        low: (slope - half) * 3600.0,
        high: (slope + half) * 3600.0,
        mean_y,
        mean_t,
    })
}

/// The 97.5th percentile of Student's t with `df` degrees of freedom (the
/// half-width factor of a two-sided 95 % interval): tabulated to 30, then
/// the Cornish–Fisher expansion around the normal quantile (Abramowitz &
/// Stegun 26.7.5), within 0.001 there.
pub fn t975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
        2.045, 2.042,
    ];
    if df == 0 {
        return f64::INFINITY;
    }
    if df <= TABLE.len() {
        return TABLE[df - 1];
    }
    let z: f64 = 1.959_964;
    let v = df as f64;
    let g1 = (z.powi(3) + z) / 4.0;
    let g2 = (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / 96.0;
    let g3 = (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z) / 384.0;
    let g4 = (79.0 * z.powi(9) + 776.0 * z.powi(7) + 1482.0 * z.powi(5) - 1920.0 * z.powi(3) - 945.0 * z)
        / 92160.0;
    z + g1 / v + g2 / v.powi(2) + g3 / v.powi(3) + g4 / v.powi(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_straight_line_has_its_slope_per_hour_and_no_doubt() {
        // 1 unit per minute = 60 per hour.
        let points: Vec<(f64, f64)> = (0..20).map(|i| (i as f64 * 10.0, 5.0 + i as f64 / 6.0)).collect();
        let f = fit(&points).unwrap();
        assert!((f.slope - 60.0).abs() < 1e-9, "{f:?}");
        assert!((f.high - f.low).abs() < 1e-6, "{f:?}");
        assert_eq!(f.verdict(0.02), Verdict::Grows);
        assert!((f.at(0.0) - 5.0).abs() < 1e-9);
    }

    #[test]
    fn noise_around_a_level_is_flat_and_a_trend_under_it_is_found() {
        // A fixed, zero-mean wobble: flat on its own, growing once a trend
        // of 1 % of the level per sample is added.
        let wobble = [0.3, -0.5, 0.1, 0.4, -0.2, -0.4, 0.5, -0.1, 0.2, -0.3];
        let flat: Vec<(f64, f64)> = (0..30)
            .map(|i| (i as f64 * 10.0, 100.0 + wobble[i % 10]))
            .collect();
        let f = fit(&flat).unwrap();
        assert!(f.low < 0.0 && f.high > 0.0, "{f:?}");
        assert_eq!(f.verdict(0.0), Verdict::Flat);
        assert!((f.level - 100.0).abs() < 1e-9, "{f:?}");
        let rising: Vec<(f64, f64)> = flat.iter().map(|&(t, y)| (t, y + t / 10.0)).collect();
        assert_eq!(fit(&rising).unwrap().verdict(0.02), Verdict::Grows);
        let falling: Vec<(f64, f64)> = flat.iter().map(|&(t, y)| (t, y - t / 10.0)).collect();
        assert_eq!(fit(&falling).unwrap().verdict(0.02), Verdict::Falls);
    }

    #[test]
    fn a_tiny_but_certain_slope_is_flat_under_the_tolerance() {
        // 0.1 per hour on a level of 100: 0.1 % an hour.
        let points: Vec<(f64, f64)> = (0..30)
            .map(|i| (i as f64 * 10.0, 100.0 + i as f64 * 10.0 * 0.1 / 3600.0))
            .collect();
        let f = fit(&points).unwrap();
        assert_eq!(f.verdict(0.02), Verdict::FlatSmall);
        assert_eq!(f.verdict(0.0), Verdict::Grows);
    }

    #[test]
    fn gaps_are_skipped_and_too_few_points_give_no_fit() {
        assert_eq!(fit(&[(0.0, 1.0), (10.0, f64::NAN), (20.0, 2.0)]), None);
        let f = fit(&[(0.0, 1.0), (10.0, f64::NAN), (20.0, 2.0), (30.0, 3.0)]).unwrap();
        assert_eq!(f.n, 3);
    }

    #[test]
    fn t_quantiles_match_the_tables() {
        assert_eq!(t975(22), 2.074);
        for (df, t) in [(40, 2.021), (60, 2.000), (120, 1.980), (1000, 1.962)] {
            assert!((t975(df) - t).abs() < 0.001, "df {df}: {} vs {t}", t975(df));
        }
    }
}
