//! SVG plot of latency-by-percentile, several runs overlaid.
//!
//! x is the percentile on a log "nines" axis — position = -log10(1 - p) — so
//! 90, 99, 99.9, 99.99 are evenly spaced and the tail gets the room it
//! deserves (the HdrHistogram plotter's convention); y is latency in ms on a
//! linear axis from zero. Hand-written SVG: a dependency would cost more
//! than these hundred lines.

use std::fmt::Write as _;

/// One line: a label and `(percentile 0–100, latency µs)` points.
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, u64)>,
}

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 520.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;
const COLORS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];
/// The 100th percentile has infinite nines; draw it a bit past the last tick.
fn nines(p: f64, max_nines: f64) -> f64 {
    if p >= 100.0 {
        max_nines
    } else {
        (-(1.0 - p / 100.0).log10()).min(max_nines)
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A "nice" axis maximum ≥ `v` (1, 2, 5 × 10^k).
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if v <= m * mag {
            return m * mag;
        }
    }
    10.0 * mag
}

pub fn render(title: &str, series: &[Series]) -> String {
    let finite_max = series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|(p, _)| *p < 100.0)
        .map(|(p, _)| -(1.0 - p / 100.0).log10())
        .fold(2.0f64, f64::max);
    let max_nines = finite_max.ceil() + 0.5;
    let y_max_ms = nice_ceiling(
        series
            .iter()
            .flat_map(|s| s.points.iter())
            .map(|&(_, us)| us as f64 / 1000.0)
            .fold(0.0, f64::max),
    );
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |p: f64| LEFT + nines(p, max_nines) / max_nines * plot_w;
    let y = |ms: f64| TOP + plot_h - ms / y_max_ms * plot_h;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="15">{}</text>"#,
        WIDTH / 2.0,
        escape(title)
    );
    // Grid and x ticks: 0, 90, 99, 99.9, …
    for k in 0..=(max_nines.floor() as i32) {
        let p = 100.0 * (1.0 - 10f64.powi(-k));
        let label = if k == 0 {
            "0%".to_string()
        } else {
            format!("{p:.*}%", (k - 2).max(0) as usize)
        };
        let xx = x(p);
        let _ = writeln!(
            s,
            r##"<line x1="{xx:.1}" y1="{TOP}" x2="{xx:.1}" y2="{:.1}" stroke="#ddd"/><text x="{xx:.1}" y="{:.1}" text-anchor="middle">{label}</text>"##,
            TOP + plot_h,
            TOP + plot_h + 18.0
        );
    }
    for i in 0..=5 {
        let ms = y_max_ms * f64::from(i) / 5.0;
        let yy = y(ms);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            yy + 4.0,
            trim_float(ms)
        );
    }
    let _ = writeln!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>"##
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">percentile</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 15.0
    );
    let _ = writeln!(
        s,
        r#"<text x="18" y="{:.1}" text-anchor="middle" transform="rotate(-90 18 {:.1})">latency (ms)</text>"#,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0
    );
    for (i, series) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let mut pts = String::new();
        for &(p, us) in &series.points {
            let _ = write!(pts, "{:.1},{:.1} ", x(p), y(us as f64 / 1000.0));
        }
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
            pts.trim_end()
        );
        let ly = TOP + 16.0 + 18.0 * i as f64;
        let _ = writeln!(
            s,
            r#"<line x1="{:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{color}" stroke-width="3"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            LEFT + 12.0,
            LEFT + 36.0,
            LEFT + 42.0,
            ly + 4.0,
            escape(&series.label)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn trim_float(v: f64) -> String {
    let t = format!("{v:.3}");
    t.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_each_series_and_the_nines_axis() {
        let a = Series {
            label: "a <run>".into(),
            points: vec![
                (0.0, 100),
                (90.0, 200),
                (99.0, 900),
                (99.9, 5000),
                (100.0, 7000),
            ],
        };
        let b = Series {
            label: "b".into(),
            points: vec![(0.0, 50), (99.0, 300), (100.0, 400)],
        };
        let svg = render("t", &[a, b]);
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("a &lt;run&gt;"));
        for tick in ["90%", "99%", "99.9%"] {
            assert!(svg.contains(&format!(">{tick}<")), "{tick}");
        }
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(0.7), 1.0);
        assert_eq!(nice_ceiling(1.3), 2.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(42.0), 50.0);
    }
}
